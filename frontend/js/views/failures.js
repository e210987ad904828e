// The dashboard's failure-code card (GET /api/v1/onboard/failures): per step that
// failed, its codes with count, last seen and an example reason, all as text; each count
// opens that code's sessions (the step's failed sessions whose last failure had the code:
// a session counts once there, under its last code, where the card counts failures). Live: refetched after onboarding.failed events (at
// most once a second), at once on a stream reset, and when the stream is live again after
// a load failed; for the window the dashboard shows.

import { el, fill } from "../dom.js";
import { formatDateTime } from "../format.js";
import { label } from "../i18n.js";
import { STAGES } from "../viewData.js";
import { liveCard } from "./liveCard.js";

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
  liveCard(root, node, ctx, {
    url: (hours) => `/api/v1/onboard/failures?hours=${hours}`,
    current: (document, hours) => String(document.window_hours) === hours,
    render: renderFailures,
    refetchOn: (message) => message.event_type === FAILED,
  });
}
