// The dashboard's failure-code card (GET /api/v1/onboard/failures): per step that
// failed, its codes with count, last seen and an example reason, all as text; each count
// opens that code's sessions (the step's failed sessions whose last failure had the code:
// a session counts once there, under its last code, where the card counts failures). Live: refetched after onboarding.failed events (at
// most once a second), at once on a stream reset, and when the stream is live again after
// a load failed; for the window the dashboard shows.

import { getJSON } from "../api.js";
import { coalesce, el, fill } from "../dom.js";
import { formatDateTime } from "../format.js";
import { label } from "../i18n.js";
import { SnapshotLoads, STAGES } from "../viewData.js";
import { windowFrom } from "./dashboard.js";

const FAILED = "onboarding.failed";

/**
 * The table of codes per failed step, or a sentence when the window has none.
 * @param {HTMLElement} node
 * @param {any} document the failures document
 * @param {{t: Function, lang: string}} ctx
 */
export function renderFailures(node, document, { t, lang }) {
  const hours = String(document.window_hours);
  const rows = [];
  for (const step of STAGES) {
    for (const code of document.stages?.[step] || []) {
      const sessions = new URLSearchParams({ hours, stage: step, state: "failed", code: code.code });
      rows.push(
        el("tr", { "data-failure-code": code.code, "data-step": step }, [
          el("td", { text: label(t, "step", step) }),
          el("td", { class: "mono", text: code.code }),
          el("td", { class: "num" }, [
            el("a", { href: `/funnel/sessions?${sessions}`, text: String(code.count) }),
          ]),
          el("td", { text: formatDateTime(code.last_seen, lang) }),
          el("td", {
            class: "failure-reason",
            "data-reason": "",
            text: code.example_reason || t("timeline.noReason"),
          }),
        ]),
      );
    }
  }
  if (!rows.length) {
    fill(node, [el("p", { class: "muted", text: t("failures.none") })]);
    return;
  }
  fill(node, [
    el("p", { class: "muted", text: t("failures.note") }),
    el("div", { class: "scroll" }, [
      el("table", { class: "grid" }, [
        el("thead", {}, [
          el("tr", {}, [
            el("th", { text: t("failures.step") }),
            el("th", { text: t("failures.code") }),
            el("th", { text: t("failures.count") }),
            el("th", { text: t("failures.lastSeen") }),
            el("th", { text: t("failures.reason") }),
          ]),
        ]),
        el("tbody", {}, rows),
      ]),
    ]),
  ]);
}

/**
 * @param {HTMLElement} root the [data-dashboard] element (holds [data-failures] and the
 *   window select [data-window])
 * @param {any} ctx {t, lang, live}
 */
export function initFailures(root, ctx) {
  const node = root.querySelector("[data-failures]");
  if (!node) return;
  const select = root.querySelector("[data-window]");
  const hours = () =>
    (select && select.value) || windowFrom(new URLSearchParams(window.location.search).get("hours")) || "48";
  // Loads overlap (first load, reset, refetches, a window change) and can answer out of order.
  const loads = new SnapshotLoads();
  let failed = false; // an error is shown: load again once the stream is back
  const load = async () => {
    const wanted = hours();
    const pending = loads.begin();
    let document = null;
    try {
      document = await getJSON(`/api/v1/onboard/failures?hours=${wanted}`);
    } catch {
      // shown below, unless a newer answer was shown already
    }
    if (!loads.finish(pending)) return;
    failed = !document;
    if (!document) fill(node, [el("p", { class: "error", text: ctx.t("error.load") })]);
    else if (String(document.window_hours) === hours()) renderFailures(node, document, ctx);
  };
  const refresh = coalesce(load, 1000);
  if (ctx.live) {
    ctx.live.on("reset", () => load());
    ctx.live.on("onboard", (message) => {
      if (message.event_type === FAILED) refresh();
    });
    ctx.live.onStatus((state) => {
      if (state === "live" && failed) load();
    });
  }
  if (select) select.addEventListener("change", () => load());
  load();
}
