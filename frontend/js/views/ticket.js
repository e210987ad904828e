// One ticket: its summary and the timeline of its session's events and its notes, live.

import { getJSON, HttpError } from "../api.js";
import { debounce, el, fill } from "../dom.js";
import { label } from "../i18n.js";
import { entryFromMessage, insertEntry, SnapshotLoads } from "../state.js";
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
  // Loads can overlap (start, reset, refetch on completion) and land in any order; stream
  // events that arrive while one is in flight may be newer than its snapshot.
  const loads = new SnapshotLoads();

  const showHead = (ticket) => {
    document.title = `#${ticket.id} ${ticket.domain}`;
    fill(head, [
      el("h1", {}, [`#${ticket.id} `, el("span", { "data-domain": "", text: ticket.domain })]),
      el("dl", { class: "facts" }, [
        // Ops writes the subject in English: say so, for screen readers and translation.
        el("dt", { text: ctx.t("ticket.subject") }),
        el("dd", { "data-subject": "", lang: "en", text: ticket.subject }),
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
    const pending = loads.begin();
    let ticket = null;
    let failure = null;
    try {
      ticket = await getJSON(`/api/v1/desk/tickets/${ticketId}`);
    } catch (error) {
      failure = error;
    }
    if (!loads.finish(pending)) return;
    if (!ticket) {
      const key = failure instanceof HttpError && failure.status === 404 ? "ticket.notFound" : "error.load";
      fill(head, [el("p", { class: "error", text: ctx.t(key) })]);
      return;
    }
    showHead(ticket);
    let fresh = [];
    for (const entry of ticket.timeline) fresh = insertEntry(fresh, entry);
    for (const message of pending.arrived) fresh = insertEntry(fresh, entryFromMessage(message));
    entries = fresh;
    renderTimeline(timelineNode, entries, ctx);
  };
  const reload = debounce(load, 300);

  ctx.live.params = { ticket_id: ticketId };
  ctx.live.on("reset", () => load());
  ctx.live.on("onboard", (message) => {
    loads.arrive(message);
    entries = insertEntry(entries, entryFromMessage(message));
    renderTimeline(timelineNode, entries, ctx);
    // Completion adds a note and a tag, failure a tag: fetch them.
    if (message.event_type === "onboarding.completed" || message.event_type === "onboarding.failed") {
      reload();
    }
  });
  load();
}
