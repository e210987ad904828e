// The banner on every Desk page: what is wrong now (the stream's `alerts` event), each
// condition a sentence with its figures and links to the sessions concerned. Text only.

import { el, fill } from "../dom.js";
import { label } from "../i18n.js";

/**
 * One condition as a line: its sentence, then its sessions as links.
 * @param {{kind: string, figures: any, sessions: any[]}} condition
 * @param {(key: string, vars?: Record<string, string | number>) => string} t
 * @returns {HTMLElement}
 */
export function conditionLine(condition, t) {
  const figures = condition.figures || {};
  const parts = [t(`banner.${condition.kind}`, figures)];
  for (const code of figures.codes || []) {
    parts.push(
      t("banner.code", { code: code.code, step: label(t, "step", code.step), n: code.failures }),
    );
  }
  const links = (condition.sessions || []).map((session) =>
    el("li", {}, [
      el("a", {
        href: `/sessions/${encodeURIComponent(session.session_id)}`,
        text: session.domain || session.session_id,
      }),
    ]),
  );
  return el("li", { class: "banner-item", "data-condition": condition.kind }, [
    el("span", { class: "banner-text", text: parts.join(" ") }),
    links.length ? el("ul", { class: "banner-sessions", "aria-label": t("banner.sessions") }, links) : null,
  ]);
}

/**
 * Render the conditions into the banner node; hidden when there are none.
 * @param {HTMLElement} node
 * @param {any} document an `alerts` event's data
 * @param {(key: string, vars?: Record<string, string | number>) => string} t
 */
export function renderBanner(node, document, t) {
  const conditions = Array.isArray(document?.conditions) ? document.conditions : [];
  node.hidden = conditions.length === 0;
  fill(
    node,
    conditions.length
      ? [
          el("h2", { class: "banner-title", text: t("banner.title") }),
          el("ul", { class: "banner-list" }, conditions.map((c) => conditionLine(c, t))),
        ]
      : [],
  );
}

/**
 * @param {HTMLElement} node the [data-banner] element
 * @param {{t: Function, live: import("../live.js").LiveStream | null}} ctx
 */
export function initBanner(node, ctx) {
  node.hidden = true;
  if (!ctx.live) return;
  ctx.live.on("alerts", (document) => renderBanner(node, document, ctx.t));
}
