// A vertical timeline of events and notes.

import { el, fill } from "../dom.js";
import { formatDateTime, summariseData } from "../format.js";
import { label } from "../i18n.js";

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
 * Who made a change: an account's name, a program, or Ops.
 * @param {any} actor
 * @param {Function} t
 * @returns {string}
 */
export function actorName(actor, t) {
  if (actor && actor.kind === "account") return actor.name;
  return t(`timeline.by.${actor && actor.kind === "program" ? "program" : "ops"}`);
}

/**
 * The heading and body of an agent's change or note (kind "activity").
 * @param {any} entry
 * @param {Function} t
 * @returns {[string, string]}
 */
function activityText(entry, t) {
  const who = actorName(entry.actor, t);
  const nobody = t("ticket.nobody");
  if (entry.type === "note") return [t("timeline.agentNote", { who }), entry.text];
  if (entry.type === "status") {
    const from = label(t, "status", entry.from);
    const heading = t("timeline.status", { who, from, to: label(t, "status", entry.to) });
    return [heading, entry.reason || ""];
  }
  if (entry.type === "assignee") {
    return [t("timeline.assignee", { who, from: entry.from || nobody, to: entry.to || nobody }), ""];
  }
  const changes = [
    ...(entry.added || []).map((tag) => `+${tag}`),
    ...(entry.removed || []).map((tag) => `−${tag}`),
  ].join(" ");
  return [t("timeline.tags", { who, changes }), entry.reason || ""];
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
  const items = entries.map((entry) => {
    if (entry.kind === "activity") {
      const [heading, body] = activityText(entry, t);
      return el(
        "li",
        {
          class: `entry entry-activity entry-${entry.type}`,
          "data-kind": "activity",
          "data-entry-id": entry.id,
          "data-activity": entry.type,
        },
        [
          el("time", { datetime: entry.occurred_at, text: formatDateTime(entry.occurred_at, lang) }),
          el("strong", { text: heading }),
          // Agents' text, shown as text with its line breaks (white-space: pre-wrap).
          body
            ? el("p", {
                class: entry.type === "note" ? "entry-body note-text" : "entry-body",
                lang: entry.type === "note" ? null : "en", // a reason is Ops' English
                text: body,
              })
            : null,
        ],
      );
    }
    return el(
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
    );
  });
  fill(node, [el("ol", { class: "timeline" }, items)]);
}
