// A dashboard card fed by one GET that follows the dashboard's window (the failure codes,
// the mail of completed onboardings, the breakdowns): loaded at start, when the window
// select changes, at once on a stream reset, after the stream events that can change it
// (at most once a second, never starved by a steady stream), and when the stream is live
// again after a load failed. Loads overlap and can answer out of order: an answer from a
// load begun before one already shown is dropped, and one for another window (or another
// choice of the card's own) is not shown. A redraw gives the keyboard focus back to the
// same control when it was in the card (dom.js `refocus`, by `data-focus-key`).

import { getJSON } from "../api.js";
import { coalesce, el, fill, focusKeyWithin, refocus } from "../dom.js";
import { SnapshotLoads } from "../viewData.js";
import { windowFrom } from "./dashboard.js";

export const REFETCH_MS = 1000;

/**
 * The dashboard's window in hours: its select's value, else `?hours=`, else 48.
 * @param {HTMLElement} root the [data-dashboard] element
 * @returns {string}
 */
export function dashboardHours(root) {
  const select = root.querySelector("[data-window]");
  return (
    (select && select.value) ||
    windowFrom(new URLSearchParams(window.location.search).get("hours")) ||
    "48"
  );
}

/**
 * Bind a card to its GET and the stream.
 * @param {HTMLElement} root the [data-dashboard] element (holds the window select [data-window])
 * @param {HTMLElement} node the card's content, replaced by each answer
 * @param {any} ctx {t, lang, live}
 * @param {{
 *   url: (hours: string) => string,
 *   current: (document: any, hours: string) => boolean,
 *   render: (node: HTMLElement, document: any, ctx: any) => void,
 *   refetchOn: (message: any) => boolean,
 * }} card the request for a window, whether an answer is the one now wanted, how to
 *   draw it, which `onboard` messages may change it
 * @returns {() => Promise<void>} a load, for the card's own controls
 */
export function liveCard(root, node, ctx, card) {
  const loads = new SnapshotLoads();
  let failed = false; // an error is shown: load again once the stream is back
  const load = async () => {
    const pending = loads.begin();
    let document = null;
    try {
      document = await getJSON(card.url(dashboardHours(root)));
    } catch {
      // shown below, unless a newer answer was shown already
    }
    if (!loads.finish(pending)) return;
    failed = !document;
    if (!document) fill(node, [el("p", { class: "error", text: ctx.t("error.load") })]);
    else if (card.current(document, dashboardHours(root))) {
      const focused = focusKeyWithin(node);
      card.render(node, document, ctx);
      refocus(node, focused);
    }
  };
  const refresh = coalesce(load, REFETCH_MS);
  if (ctx.live) {
    ctx.live.on("reset", () => load());
    ctx.live.on("onboard", (message) => {
      if (card.refetchOn(message)) refresh();
    });
    ctx.live.onStatus((state) => {
      if (state === "live" && failed) load();
    });
  }
  const select = root.querySelector("[data-window]");
  if (select) select.addEventListener("change", () => load());
  load();
  return load;
}
