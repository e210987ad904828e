// One session's timeline, filterable by event type, live.

import { getJSON, HttpError } from "../api.js";
import { el, fill } from "../dom.js";
import { label } from "../i18n.js";
import { EVENT_TYPES, entryFromMessage, filterEntries, insertEntry } from "../state.js";
import { renderTimeline } from "./timeline.js";

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
  // Stream entries that arrive while a snapshot loads: they may be newer than it.
  const arriving = new Set();
  let summary = { domain: "", stage: null, status: "" };

  fill(select, [
    el("option", { value: "", text: ctx.t("session.allTypes") }),
    ...EVENT_TYPES.map((type) => el("option", { value: type, text: type })),
  ]);
  const show = () => renderTimeline(timelineNode, filterEntries(entries, select.value), ctx);
  const showHead = () => {
    document.title = summary.domain || sessionId;
    fill(head, [
      el("h1", { "data-domain": "", text: summary.domain }),
      el("p", { class: "muted" }, [
        el("span", { class: "mono", text: sessionId }),
        ` · ${label(ctx.t, "stage", summary.stage)} · `,
        el("span", { "data-status": "", text: label(ctx.t, "status", summary.status) }),
      ]),
    ]);
  };
  const load = async () => {
    const seen = [];
    arriving.add(seen);
    try {
      const timeline = await getJSON(`/api/v1/onboard/sessions/${encodeURIComponent(sessionId)}/timeline`);
      summary = { domain: timeline.domain, stage: timeline.stage, status: timeline.status };
      let fresh = [];
      for (const event of timeline.events) fresh = insertEntry(fresh, { ...event, kind: "event" });
      for (const entry of seen) fresh = insertEntry(fresh, entry);
      entries = fresh;
      showHead();
      show();
    } catch (error) {
      const key = error instanceof HttpError && error.status === 404 ? "session.notFound" : "error.load";
      fill(head, [el("p", { class: "error", text: ctx.t(key) })]);
    } finally {
      arriving.delete(seen);
    }
  };

  ctx.live.params = { session_id: sessionId };
  ctx.live.on("reset", () => load());
  ctx.live.on("onboard", (message) => {
    summary = { domain: message.domain, stage: message.stage, status: message.status };
    const entry = entryFromMessage(message);
    for (const seen of arriving) seen.push(entry);
    entries = insertEntry(entries, entry);
    showHead();
    show();
  });
  select.addEventListener("change", show);
  load();
}
