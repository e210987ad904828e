// The connection state badge: connecting, live, reconnecting.

/**
 * @param {HTMLElement} node the [data-live-status] element
 * @param {{t: Function, live: import("../live.js").LiveStream | null}} ctx
 */
export function initLiveStatus(node, ctx) {
  if (!ctx.live) {
    node.hidden = true;
    return;
  }
  ctx.live.onStatus((state) => {
    node.dataset.state = state;
    node.textContent = ctx.t(`live.${state}`);
  });
}
