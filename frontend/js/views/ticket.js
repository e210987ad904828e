// One ticket: its summary, the agents' controls (status, assignee, tags, notes) and the
// timeline of its session's events, Ops' notes and every change, all live.

import { getJSON, HttpError, sendJSON } from "../api.js";
import { coalesce, el, fill } from "../dom.js";
import { domainText, label } from "../i18n.js";
import { entryFromMessage, insertEntry, SnapshotLoads } from "../viewData.js";
import { contactLink, contactOf } from "./contact.js";
import { KNOWN_TAGS, notFound, sessionHref, tagList } from "./tables.js";
import { renderTimeline } from "./timeline.js";

/** Where a ticket may go from each status (vm122_ops/tickets/work.py, TRANSITIONS). */
export const NEXT = {
  open: ["pending", "resolved"],
  pending: ["open", "resolved"],
  resolved: ["open", "closed"],
  closed: ["open"],
};

/**
 * Tags typed as "a, b c" -> ["a", "b", "c"], sorted, without repeats.
 * @param {string} text
 * @returns {string[]}
 */
export function parseTags(text) {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))].sort();
}

/**
 * A ticket's tags as its form shows them: the known ones (ticked choices, each read by its
 * label) and the others (typed text), each in order.
 * @param {string[]} tags
 * @returns {{known: string[], other: string[]}}
 */
export function splitTags(tags) {
  const sorted = [...tags].sort();
  return {
    known: sorted.filter((tag) => KNOWN_TAGS.includes(tag)),
    other: sorted.filter((tag) => !KNOWN_TAGS.includes(tag)),
  };
}

/**
 * The tags a form asks for: its ticked known tags and the typed others, sorted, once each.
 * @param {string[]} ticked keys of the ticked choices
 * @param {string} typed the other tags' text
 * @returns {string[]}
 */
export function chosenTags(ticked, typed) {
  return parseTags([...ticked, typed].join(","));
}

/**
 * Tags in words, separated by commas (a conflict's message).
 * @param {string[]} tags
 * @param {Function} t
 * @returns {string}
 */
function tagWords(tags, t) {
  return tags.map((tag) => label(t, "tag", tag)).join(", ") || "–";
}

/**
 * What differs between two versions of a ticket, in words (for a conflict).
 * @param {any} before
 * @param {any} after
 * @param {Function} t
 * @returns {string}
 */
export function describeChanges(before, after, t) {
  const nobody = t("ticket.nobody");
  const parts = [];
  if (before.status !== after.status) {
    parts.push(`${t("tickets.status")} ${label(t, "status", before.status)} → ${label(t, "status", after.status)}`);
  }
  if ((before.assignee || null) !== (after.assignee || null)) {
    parts.push(`${t("ticket.assignee")} ${before.assignee || nobody} → ${after.assignee || nobody}`);
  }
  if (before.tags.join(",") !== after.tags.join(",")) {
    parts.push(`${t("tickets.tags")} ${tagWords(before.tags, t)} → ${tagWords(after.tags, t)}`);
  }
  return parts.join("; ") || "–";
}

/**
 * @param {HTMLElement} root the [data-ticket-page] element
 * @param {any} ctx
 */
export function initTicketPage(root, ctx) {
  const match = window.location.pathname.match(/^\/tickets\/(\d+)$/);
  const ticketId = match ? match[1] : "";
  const head = root.querySelector("[data-ticket-head]");
  const timelineNode = root.querySelector("[data-timeline]");
  const actions = root.querySelector("[data-ticket-actions]");
  const noteForm = root.querySelector("[data-note-form]");
  const conflictNode = root.querySelector("[data-conflict]");
  let entries = [];
  /** The ticket as last shown (its version is what a change carries). */
  let ticket = null;
  let me = null;
  let dirty = false; // the agent is editing: live updates must not overwrite the fields
  // The ticket as it was when the agent began editing: a change carries its version, so
  // a change made meanwhile by someone else is a conflict (409), never overwritten.
  let base = null;
  // Ticket changes heard on the stream (entries, and the newest summary): a load whose
  // snapshot is older must not lose them.
  let heard = [];
  let newestHeard = null;
  // Loads can overlap (start, reset, refetch on completion) and land in any order; stream
  // events that arrive while one is in flight may be newer than its snapshot.
  const loads = new SnapshotLoads();
  // Who to contact about the session, and the event time it came from (a live event
  // carrying one replaces it when not older: vm122_ops/tickets/contacts.py keeps the newest).
  let contact = { address: null, at: "" };
  const heardContact = (event) => {
    const address = contactOf(event);
    if (address !== null && event.occurred_at >= contact.at) {
      contact = { address, at: event.occurred_at };
    }
  };

  const showHead = () => {
    document.title = `#${ticket.id} ${domainText(ctx.t, ticket.domain)}`;
    fill(head, [
      el("h1", {}, [`#${ticket.id} `, el("span", { "data-domain": "", text: domainText(ctx.t, ticket.domain) })]),
      el("dl", { class: "facts" }, [
        // The subject in the page's language, from the ticket's kind and domain (Ops stores
        // an English one, "Onboarding of …", for other clients).
        el("dt", { text: ctx.t("ticket.subject") }),
        el("dd", {
          "data-subject": "",
          text: ctx.t(ticket.kind === "follow_up" ? "ticket.subjectFollowUp" : "ticket.subjectOf", {
            domain: domainText(ctx.t, ticket.domain),
          }),
        }),
        el("dt", { text: ctx.t("tickets.status") }),
        el("dd", { "data-status": "", text: label(ctx.t, "status", ticket.status) }),
        el("dt", { text: ctx.t("ticket.assignee") }),
        el("dd", { "data-assignee": "", text: ticket.assignee || ctx.t("ticket.nobody") }),
        el("dt", { text: ctx.t("ticket.session") }),
        el("dd", {}, [
          el("a", { href: sessionHref(ticket.session_id), text: ticket.session_id }),
          ` · ${label(ctx.t, "stage", ticket.stage)} · ${label(ctx.t, "status", ticket.session_status)}`,
        ]),
        // What the customer reads out on the phone, to confirm it is their session.
        el("dt", { text: ctx.t("reference.label") }),
        ticket.reference
          ? el("dd", { class: "mono", "data-reference": "", text: ticket.reference })
          : el("dd", { "data-reference": "", text: ctx.t("reference.none") }),
        el("dt", { text: ctx.t("tickets.tags") }),
        el("dd", { "data-tags": "" }, [tagList(ticket.tags, ctx.t)]),
        el("dt", { text: ctx.t("contact.label") }),
        el("dd", {}, [contactLink(contact.address, ctx.t)]),
      ]),
    ]);
  };
  const showFields = () => {
    if (!actions || dirty) return;
    const status = actions.elements.namedItem("status");
    for (const option of status.options) {
      option.disabled = option.value !== ticket.status && !(NEXT[ticket.status] || []).includes(option.value);
    }
    status.value = ticket.status;
    const assignee = actions.elements.namedItem("assignee");
    if (ticket.assignee && ![...assignee.options].some((o) => o.value === ticket.assignee)) {
      assignee.append(el("option", { value: ticket.assignee, text: ticket.assignee }));
    }
    assignee.value = ticket.assignee || "";
    const { known, other } = splitTags(ticket.tags);
    for (const box of actions.querySelectorAll("[data-tag-choice]")) box.checked = known.includes(box.value);
    actions.elements.namedItem("tags").value = other.join(", ");
  };
  /** Show a newer version of the ticket (from a load, an answer or the stream). */
  const adopt = (next) => {
    if (ticket && next.version < ticket.version) return;
    ticket = { ...(ticket || {}), ...next };
    showHead();
    showFields();
  };
  const say = (text) => {
    const status = actions && actions.querySelector("[data-action-status]");
    if (status) status.textContent = text;
  };
  const load = async () => {
    const pending = loads.begin();
    let fetched = null;
    let failure = null;
    try {
      fetched = await getJSON(`/api/v1/desk/tickets/${ticketId}`);
    } catch (error) {
      failure = error;
    }
    if (!loads.finish(pending)) return;
    if (!fetched) {
      if (failure instanceof HttpError && failure.status === 404) {
        notFound(root, ctx.t("ticket.notFound"), ctx.t);
        return;
      }
      fill(head, [el("p", { class: "error", text: ctx.t("error.load") })]);
      return;
    }
    const { timeline, ...summary } = fetched;
    contact = { address: summary.contact ?? null, at: "" };
    for (const entry of timeline) if (entry.kind === "event") heardContact(entry);
    for (const message of pending.arrived) heardContact(message);
    ticket = null; // a load is the whole truth at its time...
    adopt(summary);
    if (newestHeard) adopt(newestHeard); // ...unless the stream brought a newer version
    let fresh = [];
    for (const entry of timeline) fresh = insertEntry(fresh, entry);
    for (const entry of heard) fresh = insertEntry(fresh, entry);
    for (const message of pending.arrived) fresh = insertEntry(fresh, entryFromMessage(message));
    entries = fresh;
    renderTimeline(timelineNode, entries, ctx);
  };
  const reload = coalesce(load, 300); // at most every 300 ms, never starved
  const addEntries = (more) => {
    for (const entry of more) entries = insertEntry(entries, entry);
    renderTimeline(timelineNode, entries, ctx);
  };

  if (actions) {
    // The known tags as labelled choices (the key is only the value sent); other tags are typed.
    const choices = actions.querySelector("[data-tag-choices]");
    if (choices) {
      fill(
        choices,
        KNOWN_TAGS.map((tag) =>
          el("label", { class: "tag-choice" }, [
            el("input", { type: "checkbox", value: tag, "data-tag-choice": "" }),
            ` ${label(ctx.t, "tag", tag)}`,
          ]),
        ),
      );
    }
    const loadAgents = async () => {
      const answer = await getJSON("/api/v1/desk/agents");
      me = answer.me;
      const select = actions.elements.namedItem("assignee");
      const chosen = select.value;
      fill(select, [
        el("option", { value: "", text: ctx.t("ticket.nobody") }),
        ...answer.agents.map((agent) => el("option", { value: agent.name, text: agent.name })),
      ]);
      select.value = chosen;
      if (ticket) showFields();
      actions.querySelector("[data-assign-me]").hidden = !me;
    };
    loadAgents().catch(() => {});
    const editing = () => {
      if (!dirty) base = ticket;
      dirty = true;
    };
    actions.addEventListener("input", editing);
    actions.addEventListener("change", editing);
    // One way to save: "Assign to me" fills the assignee like choosing it in the list;
    // "Save changes" saves it with any other change, so one click never saves alone what
    // the agent is still editing.
    actions.querySelector("[data-assign-me]").addEventListener("click", () => {
      if (!me) return;
      editing();
      actions.elements.namedItem("assignee").value = me;
      const status = actions.querySelector("[data-action-status]");
      if (status) status.textContent = ctx.t("ticket.unsaved");
    });
    actions.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!ticket) return;
      const seen = (dirty && base) || ticket;
      const wanted = {
        status: actions.elements.namedItem("status").value,
        assignee: actions.elements.namedItem("assignee").value || null,
        tags: chosenTags(
          [...actions.querySelectorAll("[data-tag-choice]")].filter((box) => box.checked).map((box) => box.value),
          actions.elements.namedItem("tags").value,
        ),
      };
      const change = { version: seen.version };
      if (wanted.status !== seen.status) change.status = wanted.status;
      if (wanted.assignee !== (seen.assignee || null)) change.assignee = wanted.assignee;
      if (wanted.tags.join(",") !== seen.tags.join(",")) change.tags = wanted.tags;
      if (Object.keys(change).length === 1) {
        dirty = false;
        base = null;
        say(ctx.t("ticket.nothing"));
        return;
      }
      const answer = await sendJSON("PATCH", `/api/v1/desk/tickets/${ticketId}`, change);
      if (answer.status === 409 && answer.body.ticket) {
        // Someone else changed it: show what, and the current ticket; never overwrite.
        const { timeline, ...current } = answer.body.ticket;
        const mine = describeChanges(seen, { ...seen, ...wanted }, ctx.t);
        conflictNode.textContent = ctx.t("ticket.conflict", {
          what: describeChanges(seen, current, ctx.t),
          mine,
        });
        conflictNode.hidden = false;
        dirty = false;
        base = null;
        adopt(current);
        addEntries(timeline.filter((entry) => entry.kind === "activity"));
        conflictNode.focus();
        say("");
        return;
      }
      if (answer.status !== 200) {
        say(ctx.t("ticket.failed", { e: answer.body.error || answer.status }));
        return;
      }
      conflictNode.hidden = true;
      dirty = false;
      base = null;
      adopt(answer.body.ticket);
      addEntries(answer.body.entries);
      say(ctx.t("ticket.saved"));
    });
  }
  if (noteForm) {
    const text = noteForm.elements.namedItem("text");
    text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        noteForm.requestSubmit();
      }
    });
    noteForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!text.value.trim()) return;
      const answer = await sendJSON("POST", `/api/v1/desk/tickets/${ticketId}/notes`, {
        text: text.value,
      });
      if (answer.status !== 201) {
        say(ctx.t("ticket.failed", { e: answer.body.error || answer.status }));
        return;
      }
      text.value = "";
      adopt(answer.body.ticket);
      addEntries(answer.body.entries);
    });
  }

  ctx.live.params = { ticket_id: ticketId };
  ctx.live.on("reset", () => load());
  ctx.live.on("onboard", (message) => {
    loads.arrive(message);
    heardContact(message);
    if (ticket && contactOf(message) !== null) showHead();
    entries = insertEntry(entries, entryFromMessage(message));
    renderTimeline(timelineNode, entries, ctx);
    // Completion adds a note and a tag, failure a tag: fetch them.
    if (message.event_type === "onboarding.completed" || message.event_type === "onboarding.failed") {
      reload();
    }
  });
  ctx.live.on("ticket", (message) => {
    if (String(message.ticket_id) !== ticketId) return;
    heard = [...heard.slice(-499), message.entry];
    if (!newestHeard || message.ticket.version >= newestHeard.version) newestHeard = message.ticket;
    if (ticket) adopt(message.ticket);
    addEntries([message.entry]);
  });
  load();
}
