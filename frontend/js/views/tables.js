// Tables of active sessions and of tickets.

import { el, fill } from "../dom.js";
import { formatDateTime, formatDuration, secondsSince } from "../format.js";
import { label } from "../i18n.js";
import { isStuck } from "../state.js";

/**
 * @param {string} sessionId
 * @returns {string}
 */
export function sessionHref(sessionId) {
  return `/sessions/${encodeURIComponent(sessionId)}`;
}

/**
 * @param {HTMLElement} node
 * @param {any[]} sessions
 * @param {any} funnel for the usual time per stage
 * @param {{t: Function, lang: string, now: () => number}} ctx
 */
export function renderActive(node, sessions, funnel, { t, lang, now }) {
  if (!sessions.length) {
    fill(node, [el("p", { class: "muted", text: t("active.empty") })]);
    return;
  }
  const nowMs = now();
  const rows = sessions.map((s) => {
    const stuck = isStuck(s, funnel, nowMs);
    return el("tr", { "data-session-id": s.session_id, class: stuck ? "stuck" : null }, [
      el("td", {}, [el("a", { href: sessionHref(s.session_id), text: s.domain })]),
      el("td", { text: label(t, "stage", s.stage) }),
      el("td", { class: "mono", text: s.last_event_type }),
      el("td", {}, [
        formatDuration(secondsSince(s.last_event_at, nowMs), lang),
        stuck ? el("span", { class: "badge badge-stuck", text: t("active.stuck") }) : null,
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
 * @param {string[]} tags
 * @returns {HTMLElement}
 */
export function tagList(tags) {
  return el(
    "span",
    { class: "tags" },
    tags.map((tag) => el("span", { class: TAG_CLASSES[tag] || "tag", "data-tag": tag, text: tag })),
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
      el("td", {}, [tagList(ticket.tags)]),
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
