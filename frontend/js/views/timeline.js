// A vertical timeline of events and notes.

import { el, fill } from "../dom.js";
import { formatDateTime, summariseData } from "../format.js";

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
          text: entry.kind === "note" ? entry.text : summariseData(entry.data),
        }),
      ],
    ),
  );
  fill(node, [el("ol", { class: "timeline" }, items)]);
}
