// One ticket: its summary and the timeline of its session's events and its notes, live.

import { getJSON, HttpError } from "../api.js";
import { debounce, el, fill } from "../dom.js";
import { label } from "../i18n.js";
import { entryFromMessage, insertEntry } from "../state.js";
import { sessionHref, tagList } from "./tables.js";
import { renderTimeline } from "./timeline.js";

/**
 * @param {HTMLElement} root the [data-ticket-page] element
 * @param {any} ctx
 */
export function initTicketPage(root, ctx) {
  const match = window.location.pathname.match(/^\/tickets\/(\d+)$/);
  const ticketId = match ? match[1] : "";
  const head = root.querySelector("[data-ticket-head]");
  const timelineNode = root.querySelector("[data-timeline]");
  let entries = [];
  // Stream entries that arrive while a snapshot loads: they may be newer than it.
  const arriving = new Set();

  const showHead = (ticket) => {
    document.title = `#${ticket.id} ${ticket.domain}`;
    fill(head, [
      el("h1", {}, [`#${ticket.id} `, el("span", { "data-domain": "", text: ticket.domain })]),
      el("p", { class: "muted", text: ticket.subject }),
      el("dl", { class: "facts" }, [
        el("dt", { text: ctx.t("tickets.status") }),
        el("dd", { "data-status": "", text: label(ctx.t, "status", ticket.status) }),
        el("dt", { text: ctx.t("ticket.session") }),
        el("dd", {}, [
          el("a", { href: sessionHref(ticket.session_id), text: ticket.session_id }),
          ` · ${label(ctx.t, "stage", ticket.stage)} · ${label(ctx.t, "status", ticket.session_status)}`,
        ]),
        el("dt", { text: ctx.t("tickets.tags") }),
        el("dd", { "data-tags": "" }, [tagList(ticket.tags)]),
      ]),
    ]);
  };
  const load = async () => {
    const seen = [];
    arriving.add(seen);
    try {
      const ticket = await getJSON(`/api/v1/desk/tickets/${ticketId}`);
      showHead(ticket);
      let fresh = [];
      for (const entry of ticket.timeline) fresh = insertEntry(fresh, entry);
      for (const entry of seen) fresh = insertEntry(fresh, entry);
      entries = fresh;
      renderTimeline(timelineNode, entries, ctx);
    } catch (error) {
      const key = error instanceof HttpError && error.status === 404 ? "ticket.notFound" : "error.load";
      fill(head, [el("p", { class: "error", text: ctx.t(key) })]);
    } finally {
      arriving.delete(seen);
    }
  };
  const reload = debounce(load, 300);

  ctx.live.params = { ticket_id: ticketId };
  ctx.live.on("reset", () => load());
  ctx.live.on("onboard", (message) => {
    const entry = entryFromMessage(message);
    for (const seen of arriving) seen.push(entry);
    entries = insertEntry(entries, entry);
    renderTimeline(timelineNode, entries, ctx);
    // Completion adds a note and a tag, failure a tag: fetch them.
    if (message.event_type === "onboarding.completed" || message.event_type === "onboarding.failed") {
      reload();
    }
  });
  load();
}
