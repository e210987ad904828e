// A vertical timeline of events and notes.

import { el, fill } from "../dom.js";
import { formatDateTime, summariseData } from "../format.js";

/**
 * dns.applied: first what operations must do (DNS left to the customer, DKIM to create),
 * then the data.
 * @param {any} data
 * @param {string} text
 * @param {Function} t
 * @returns {string}
 */
function dnsText(data, text, t) {
  const parts = [];
  if (data && data.mode === "manual") parts.push(t("timeline.dnsManual"));
  const dkim = data && typeof data.dkim === "object" ? data.dkim : null;
  if (dkim && dkim.status === "pending") {
    const steps = Array.isArray(dkim.operations) ? dkim.operations.map(String).join(" ; ") : "";
    parts.push(t("timeline.dkimPending", { steps }));
  }
  return [...parts, text].filter(Boolean).join(" · ");
}

/**
 * An event's line: its data summarised, and for a failure without a reason, that none was
 * given (Ops stores such events: every field beyond session_id and domain is optional).
 * @param {any} entry
 * @param {Function} t
 * @returns {string}
 */
function eventText(entry, t) {
  const text = summariseData(entry.data);
  if (entry.event_type === "dns.applied") return dnsText(entry.data, text, t);
  const reason = entry.data && typeof entry.data === "object" ? entry.data.reason : undefined;
  if (entry.event_type !== "onboarding.failed" || (typeof reason === "string" && reason.trim())) {
    return text;
  }
  return text ? `${t("timeline.noReason")} · ${text}` : t("timeline.noReason");
}

/**
 * @param {HTMLElement} node
 * @param {any[]} entries
 * @param {{t: Function, lang: string}} ctx
 */
export function renderTimeline(node, entries, { t, lang }) {
  if (!entries.length) {
    fill(node, [el("p", { class: "muted", text: t("timeline.empty") })]);
    return;
  }
  const items = entries.map((entry) =>
    el(
      "li",
      {
        class: entry.kind === "note" ? "entry entry-note" : "entry",
        "data-kind": entry.kind,
        "data-entry-id": entry.id,
        "data-event-type": entry.event_type || null,
      },
      [
        el("time", { datetime: entry.occurred_at, text: formatDateTime(entry.occurred_at, lang) }),
        el("strong", { text: entry.kind === "note" ? t("timeline.note") : entry.event_type }),
        el("p", {
          class: "entry-body",
          lang: entry.kind === "note" ? "en" : null, // notes are written by Ops, in English
          text: entry.kind === "note" ? entry.text : eventText(entry, t),
        }),
      ],
    ),
  );
  fill(node, [el("ol", { class: "timeline" }, items)]);
}
