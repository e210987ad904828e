// One session's timeline, filterable by event type, live.

import { getJSON, HttpError } from "../api.js";
import { el, fill } from "../dom.js";
import { domainText, label, refusalText } from "../i18n.js";
import {
  EVENT_TYPES,
  entryFromMessage,
  filterEntries,
  insertEntry,
  SnapshotLoads,
} from "../viewData.js";
import { contactLink, contactOf } from "./contact.js";
import { notFound } from "./tables.js";
import { renderTimeline } from "./timeline.js";

/**
 * The page's head after a live event: its session's domain, stage, status and ticket.
 * @param {any} message
 * @param {any} summary
 * @returns {any}
 */
function summaryOf(message, summary) {
  return {
    domain: message.domain,
    stage: message.stage,
    status: message.status,
    ticketId: message.ticket_id ?? summary.ticketId,
    refusal: message.status === "refused" ? refusalOf(message, summary.refusal) : null,
    reference: summary.reference ?? referenceOf(message),
  };
}

/**
 * The support reference an onboarding.started carries (data.reference: 8 characters of
 * A-Z and 2-9, servicekit/contract.py REFERENCE), or null.
 * @param {any} message
 * @returns {string | null}
 */
export function referenceOf(message) {
  const value = message && message.event_type === "onboarding.started" ? message.data?.reference : null;
  return typeof value === "string" && /^[A-Z2-9]{8}$/.test(value) ? value : null;
}

/**
 * A refused session's refusal once a live event is heard: the newest refusal an
 * onboarding.started carries (Ops keeps the newest by event time).
 * @param {any} message
 * @param {{code: string, at: string} | null} refusal
 * @returns {{code: string, at: string} | null}
 */
function refusalOf(message, refusal) {
  const code = message.event_type === "onboarding.started" ? message.data?.refusal?.code : null;
  if (typeof code !== "string" || (refusal && message.occurred_at < refusal.at)) return refusal;
  return { code, at: message.occurred_at };
}

/**
 * @param {HTMLElement} root the [data-session-page] element
 * @param {any} ctx
 */
export function initSessionPage(root, ctx) {
  const match = window.location.pathname.match(/^\/sessions\/([^/]+)$/);
  const sessionId = match ? decodeURIComponent(match[1]) : "";
  const head = root.querySelector("[data-session-head]");
  const timelineNode = root.querySelector("[data-timeline]");
  const select = root.querySelector("[data-event-filter]");
  let entries = [];
  // Loads can overlap (start, reset) and land in any order; stream events that arrive
  // while one is in flight may be newer than its snapshot.
  const loads = new SnapshotLoads();
  let summary = { domain: "", stage: null, status: "", ticketId: null, refusal: null, reference: null };
  // Who to contact, and the event time it came from: a live event carrying a contact
  // replaces it only when it is not older (Ops keeps the newest, vm122_ops/tickets/contacts.py).
  let contact = { address: null, at: "" };
  const heard = (message) => {
    const address = contactOf(message);
    if (address !== null && message.occurred_at >= contact.at) {
      contact = { address, at: message.occurred_at };
    }
  };

  fill(select, [
    el("option", { value: "", text: ctx.t("session.allTypes") }),
    ...EVENT_TYPES.map((type) => el("option", { value: type, text: label(ctx.t, "event", type) })),
  ]);
  const show = () => renderTimeline(timelineNode, filterEntries(entries, select.value), ctx);
  const showHead = () => {
    document.title = domainText(ctx.t, summary.domain) || sessionId;
    fill(head, [
      el("h1", { "data-domain": "", text: domainText(ctx.t, summary.domain) }),
      el("p", { class: "muted" }, [
        el("span", { class: "mono", text: sessionId }),
        ` · ${label(ctx.t, "stage", summary.stage)} · `,
        el("span", { "data-status": "", text: label(ctx.t, "status", summary.status) }),
        summary.ticketId === null || summary.ticketId === undefined ? null : " · ",
        summary.ticketId === null || summary.ticketId === undefined
          ? null
          : el("a", {
              href: `/tickets/${summary.ticketId}`,
              "data-ticket-link": "",
              text: ctx.t("session.ticket", { id: summary.ticketId }),
            }),
      ]),
      summary.refusal
        ? el("p", {
            class: "refusal-line",
            "data-refusal": summary.refusal.code,
            text: ctx.t("session.refused", { reason: refusalText(ctx.t, summary.refusal.code) }),
          })
        : null,
      el("p", { class: "contact-line" }, [`${ctx.t("contact.label")}: `, contactLink(contact.address, ctx.t)]),
      // What the customer reads out on the phone, to confirm it is their session.
      el("p", { class: "contact-line", "data-reference-line": "" }, [
        `${ctx.t("reference.label")}: `,
        summary.reference
          ? el("span", { class: "mono", "data-reference": "", text: summary.reference })
          : ctx.t("reference.none"),
      ]),
    ]);
  };
  const load = async () => {
    const pending = loads.begin();
    let timeline = null;
    let failure = null;
    try {
      timeline = await getJSON(`/api/v1/onboard/sessions/${encodeURIComponent(sessionId)}/timeline`);
    } catch (error) {
      failure = error;
    }
    if (!loads.finish(pending)) return;
    if (!timeline) {
      if (failure instanceof HttpError && failure.status === 404) {
        notFound(root, ctx.t("session.notFound"), ctx.t);
        return;
      }
      fill(head, [el("p", { class: "error", text: ctx.t("error.load") })]);
      return;
    }
    summary = {
      domain: timeline.domain,
      stage: timeline.stage,
      status: timeline.status,
      ticketId: timeline.ticket_id ?? null,
      refusal: timeline.refusal ?? null,
      reference: timeline.reference ?? null,
    };
    contact = { address: timeline.contact ?? null, at: "" };
    for (const event of timeline.events) heard(event);
    let fresh = [];
    for (const event of timeline.events) fresh = insertEntry(fresh, { ...event, kind: "event" });
    for (const message of pending.arrived) {
      fresh = insertEntry(fresh, entryFromMessage(message));
      summary = summaryOf(message, summary);
      heard(message);
    }
    entries = fresh;
    showHead();
    show();
  };

  ctx.live.params = { session_id: sessionId };
  ctx.live.on("reset", () => load());
  ctx.live.on("onboard", (message) => {
    summary = summaryOf(message, summary);
    loads.arrive(message);
    heard(message);
    entries = insertEntry(entries, entryFromMessage(message));
    showHead();
    show();
  });
  select.addEventListener("change", show);
  load();
}
