// Tables of active sessions and of tickets.

import { el, fill } from "../dom.js";
import { formatDateTime, formatDuration, secondsSince } from "../format.js";
import { domainText, label } from "../i18n.js";
import { orderActive } from "../viewData.js";
import { ageSeconds, priority } from "../priority.js";
import { contactLink } from "./contact.js";

/**
 * @param {string} sessionId
 * @returns {string}
 */
export function sessionHref(sessionId) {
  return `/sessions/${encodeURIComponent(sessionId)}`;
}

/**
 * A page whose session or ticket does not exist: its cards give way to one card saying
 * so, with a way back (no empty cards, no controls that act on nothing).
 * @param {HTMLElement} root the page's <main>
 * @param {string} message
 * @param {Function} t
 */
export function notFound(root, message, t) {
  document.title = t("notFound.title");
  fill(root, [
    el("section", { class: "card" }, [
      el("h1", { text: t("notFound.title") }),
      el("p", { "data-not-found": "", text: message }),
      el("a", { href: "/", text: t("cohort.back") }),
    ]),
  ]);
}

/**
 * Active sessions with their state as the server judged it (moving, stuck, abandoned:
 * vm122_ops/funnel/session_states.py), stuck ones first, and how long each has been idle.
 * @param {HTMLElement} node
 * @param {any[]} sessions
 * @param {any} funnel unused: the states come with each session
 * @param {{t: Function, lang: string, now: () => number}} ctx
 */
export function renderActive(node, sessions, funnel, { t, lang, now }) {
  if (!sessions.length) {
    fill(node, [el("p", { class: "muted", text: t("active.empty") })]);
    return;
  }
  const nowMs = now();
  const rows = orderActive(sessions).map((s) => {
    const state = s.state || "moving";
    return el("tr", { "data-session-id": s.session_id, class: state === "stuck" ? "stuck" : null }, [
      el("td", {}, [
        el("a", { href: sessionHref(s.session_id), text: domainText(t, s.domain) }),
        // A session that stopped moving: who to contact, when known.
        state !== "moving" && s.contact
          ? el("span", { class: "contact-inline" }, [contactLink(s.contact, t)])
          : null,
      ]),
      el("td", { text: label(t, "stage", s.stage) }),
      el("td", { "data-event-type": s.last_event_type, text: label(t, "event", s.last_event_type) }),
      el("td", {}, [
        formatDuration(secondsSince(s.last_event_at, nowMs), lang),
        el("span", { class: "badge badge-state", "data-state": state, text: label(t, "state", state) }),
      ]),
    ]);
  });
  fill(node, [
    el("table", { class: "grid" }, [
      el("thead", {}, [
        el("tr", {}, [
          el("th", { text: t("active.domain") }),
          el("th", { text: t("active.stage") }),
          el("th", { text: t("active.last") }),
          el("th", { text: t("active.since") }),
        ]),
      ]),
      el("tbody", {}, rows),
    ]),
  ]);
}

/**
 * The tags the Desk has words for, in the order its tag choices show them: the ones Ops
 * adds (vm122_ops/tickets/ticket.py: ready_for_ops, onboarding_failed, dns_manual,
 * dkim_pending, mail_ready, mail_pending) and follow_up. Any other tag is shown as typed.
 */
export const KNOWN_TAGS = [
  "ready_for_ops",
  "onboarding_failed",
  "mail_pending",
  "mail_ready",
  "dns_manual",
  "dkim_pending",
  "follow_up",
];

// Tags that say how a session ended: a failure stands out (red, bold, a warning sign),
// a completion is informational (a quiet outline with a tick); desk.css draws the signs.
const TAG_CLASSES = { onboarding_failed: "tag tag-failed", ready_for_ops: "tag tag-ready" };

/**
 * Tags in the page's language (unknown ones as they are); `data-tag` keeps the key.
 * @param {string[]} tags
 * @param {Function} t
 * @returns {HTMLElement}
 */
export function tagList(tags, t) {
  return el(
    "span",
    { class: "tags" },
    tags.map((tag) =>
      el("span", {
        class: TAG_CLASSES[tag] || "tag",
        "data-tag": tag,
        text: label(t, "tag", tag),
      }),
    ),
  );
}

/**
 * The tickets as a table. On the list page (`work`) each row also has a checkbox (bulk
 * changes), its priority and its age (js/priority.js), and `selected` says which ids are
 * ticked; the dashboard's recent tickets show the short form.
 * @param {HTMLElement} node
 * @param {any[]} tickets
 * @param {{t: Function, lang: string, now?: () => number}} ctx
 * @param {{work?: boolean, selected?: Set<number>}} [options]
 */
export function renderTickets(node, tickets, { t, lang, now }, options = {}) {
  if (!tickets.length) {
    fill(node, [el("p", { class: "muted", text: t("tickets.empty") })]);
    return;
  }
  const work = Boolean(options.work);
  const selected = options.selected || new Set();
  const nowMs = now ? now() : Date.now();
  const rows = tickets.map((ticket) => {
    const level = priority(ticket, nowMs);
    const subject = t("ticket.subjectOf", { domain: domainText(t, ticket.domain) });
    return el("tr", {
      "data-ticket-id": ticket.id,
      "data-ticket-session": ticket.session_id, // for the new-failure highlight
      class: ticket.tags.includes("onboarding_failed") ? "row-failed" : null,
    }, [
      work
        ? el("td", { class: "pick" }, [
            el("input", {
              type: "checkbox",
              "data-pick": ticket.id,
              "aria-label": t("tickets.pick", { subject: `#${ticket.id} ${subject}` }),
              checked: selected.has(ticket.id),
            }),
          ])
        : null,
      el("td", {}, [el("a", { href: `/tickets/${ticket.id}`, text: `#${ticket.id}` })]),
      el("td", {}, [el("a", { href: sessionHref(ticket.session_id), text: domainText(t, ticket.domain) })]),
      work
        ? el("td", {}, [
            el("span", { class: "priority", "data-priority": level, text: t(`priority.${level}`) }),
          ])
        : null,
      el("td", { "data-status": "", text: label(t, "status", ticket.status) }),
      el("td", { "data-assignee": "", text: ticket.assignee || "–" }),
      el("td", {}, [tagList(ticket.tags, t)]),
      work ? el("td", { "data-age": "", text: formatDuration(ageSeconds(ticket, nowMs), lang) }) : null,
      el("td", { text: formatDateTime(ticket.updated_at, lang) }),
    ]);
  });
  fill(node, [
    el("table", { class: "grid" }, [
      el("thead", {}, [
        el("tr", {}, [
          work
            ? el("th", { class: "pick" }, [
                el("input", { type: "checkbox", "data-pick-all": "", "aria-label": t("tickets.pickAll") }),
              ])
            : null,
          el("th", { text: t("tickets.id") }),
          el("th", { text: t("tickets.domain") }),
          work ? el("th", { text: t("tickets.priority") }) : null,
          el("th", { text: t("tickets.status") }),
          el("th", { text: t("tickets.assignee") }),
          el("th", { text: t("tickets.tags") }),
          work ? el("th", { text: t("tickets.age") }) : null,
          el("th", { text: t("tickets.updated") }),
        ]),
      ]),
      el("tbody", {}, rows),
    ]),
  ]);
}
