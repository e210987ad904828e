// Tables of active sessions and of tickets.

import { el, fill } from "../dom.js";
import { formatDateTime, formatDuration, secondsSince } from "../format.js";
import { label } from "../i18n.js";
import { orderActive } from "../state.js";
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
        el("a", { href: sessionHref(s.session_id), text: s.domain }),
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
 * @param {HTMLElement} node
 * @param {any[]} tickets
 * @param {{t: Function, lang: string}} ctx
 */
export function renderTickets(node, tickets, { t, lang }) {
  if (!tickets.length) {
    fill(node, [el("p", { class: "muted", text: t("tickets.empty") })]);
    return;
  }
  const rows = tickets.map((ticket) =>
    el("tr", {
      "data-ticket-id": ticket.id,
      "data-ticket-session": ticket.session_id, // for the new-failure highlight
      class: ticket.tags.includes("onboarding_failed") ? "row-failed" : null,
    }, [
      el("td", {}, [el("a", { href: `/tickets/${ticket.id}`, text: `#${ticket.id}` })]),
      el("td", {}, [el("a", { href: sessionHref(ticket.session_id), text: ticket.domain })]),
      el("td", { "data-status": "", text: label(t, "status", ticket.status) }),
      el("td", { "data-assignee": "", text: ticket.assignee || "–" }),
      el("td", {}, [tagList(ticket.tags, t)]),
      el("td", { text: formatDateTime(ticket.updated_at, lang) }),
    ]),
  );
  fill(node, [
    el("table", { class: "grid" }, [
      el("thead", {}, [
        el("tr", {}, [
          el("th", { text: t("tickets.id") }),
          el("th", { text: t("tickets.domain") }),
          el("th", { text: t("tickets.status") }),
          el("th", { text: t("tickets.assignee") }),
          el("th", { text: t("tickets.tags") }),
          el("th", { text: t("tickets.updated") }),
        ]),
      ]),
      el("tbody", {}, rows),
    ]),
  ]);
}
