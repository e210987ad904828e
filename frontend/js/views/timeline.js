// A vertical timeline of events and notes.

import { el, fill } from "../dom.js";
import { formatDateTime } from "../format.js";
import { label } from "../i18n.js";
import { eventSentence, failureKey } from "./sentences.js";

// The <details> toggles a person opened, per timeline node, by entry key ("kind:id" of a
// group's first entry): the timeline is drawn again on every live event, and an open
// toggle must stay open.
const OPENED = new WeakMap();

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
    ...(entry.added || []).map((tag) => `+${label(t, "tag", tag)}`),
    ...(entry.removed || []).map((tag) => `−${label(t, "tag", tag)}`),
  ].join(" ");
  return [t("timeline.tags", { who, changes }), entry.reason || ""];
}

/**
 * The timeline's rows: each entry alone, except consecutive identical failures (same
 * type, step, code and reason), which make one row with all their entries.
 * @param {any[]} entries in timeline order
 * @returns {any[][]} groups of entries, in order
 */
export function groupEntries(entries) {
  const groups = [];
  let lastKey = null;
  for (const entry of entries) {
    const key = failureKey(entry);
    if (key !== null && key === lastKey) groups.at(-1).push(entry);
    else groups.push([entry]);
    lastKey = key;
  }
  return groups;
}

/**
 * The raw data behind a keyboard-accessible toggle, pretty-printed as text.
 * @param {any} data
 * @param {string} key the entry's key, to keep the toggle open across redraws
 * @param {Set<string>} opened
 * @param {Function} t
 * @param {string | null} note a line above the data (a group's times)
 * @returns {HTMLElement}
 */
function details(data, key, opened, t, note) {
  const node = el("details", { class: "entry-raw", open: opened.has(key) }, [
    el("summary", { text: t("timeline.details") }),
    note ? el("p", { class: "muted", text: note }) : null,
    el("pre", { text: JSON.stringify(data ?? null, null, 2) }),
  ]);
  node.open = opened.has(key);
  node.addEventListener("toggle", () => {
    if (node.open) opened.add(key);
    else opened.delete(key);
  });
  return node;
}

/**
 * An event (or a run of identical failures) as its sentence and facts.
 * @param {any[]} group
 * @param {Set<string>} opened
 * @param {{t: Function, lang: string}} ctx
 * @returns {HTMLElement}
 */
function eventItem(group, opened, { t, lang }) {
  const first = group[0];
  const last = group.at(-1);
  const key = `event:${first.id}`;
  const { text, facts } = eventSentence(last, t);
  const repeated = group.length > 1;
  const when = repeated
    ? [
        el("time", { datetime: first.occurred_at, text: formatDateTime(first.occurred_at, lang) }),
        " – ",
        el("time", { datetime: last.occurred_at, text: formatDateTime(last.occurred_at, lang) }),
      ]
    : [el("time", { datetime: first.occurred_at, text: formatDateTime(first.occurred_at, lang) })];
  const times = repeated
    ? t("timeline.occurrences", {
        times: group.map((e) => formatDateTime(e.occurred_at, lang)).join(", "),
      })
    : null;
  return el(
    "li",
    {
      class: repeated ? "entry entry-repeated" : "entry",
      "data-kind": "event",
      "data-entry-id": first.id,
      "data-entry-ids": repeated ? group.map((e) => e.id).join(" ") : null,
      "data-count": repeated ? group.length : null,
      "data-event-type": first.event_type || null,
    },
    [
      el("span", { class: "entry-when" }, when),
      el("strong", { text: label(t, "event", first.event_type) }),
      repeated
        ? el("span", {
            class: "repeat",
            "data-repeat": "",
            "aria-label": t("timeline.repeatLabel", { n: group.length }),
            text: `×${group.length}`,
          })
        : null,
      el("p", { class: "entry-body", "data-sentence": "", text }),
      facts.length
        ? el(
            "ul",
            { class: "entry-facts" },
            facts.map((fact) => el("li", { "data-fact": "", text: fact })),
          )
        : null,
      details(last.data, key, opened, t, times),
    ],
  );
}

// The notes Ops writes itself, by their note_kind, in the page's language.
const OPS_NOTES = { ready_for_ops: "timeline.note.ready_for_ops" };

/**
 * A note Ops wrote: in the page's language when its kind is known here, else the English
 * text stored with it (an older note, or a kind newer than this page), marked lang=en.
 * @param {{note_kind?: string | null, text: string}} entry
 * @param {Function} t
 */
function opsNote(entry, t) {
  const key = Object.hasOwn(OPS_NOTES, entry.note_kind ?? "") ? OPS_NOTES[entry.note_kind] : null;
  if (key) return el("p", { class: "entry-body", text: t(key) });
  return el("p", { class: "entry-body", lang: "en", text: entry.text });
}

/**
 * @param {HTMLElement} node
 * @param {any[]} entries
 * @param {{t: Function, lang: string}} ctx
 */
export function renderTimeline(node, entries, ctx) {
  const { t, lang } = ctx;
  if (!entries.length) {
    fill(node, [el("p", { class: "muted", text: t("timeline.empty") })]);
    return;
  }
  if (!OPENED.has(node)) OPENED.set(node, new Set());
  const opened = OPENED.get(node);
  const items = groupEntries(entries).map((group) => {
    const [entry] = group;
    if (entry.kind === "event") return eventItem(group, opened, ctx);
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
        class: "entry entry-note",
        "data-kind": entry.kind,
        "data-entry-id": entry.id,
      },
      [
        el("time", { datetime: entry.occurred_at, text: formatDateTime(entry.occurred_at, lang) }),
        el("strong", { text: t("timeline.note") }),
        opsNote(entry, t),
      ],
    );
  });
  fill(node, [el("ol", { class: "timeline" }, items)]);
}
