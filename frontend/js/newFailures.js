// New failures: a failure that arrives over the stream is highlighted
// in every list row of its session and counted in the tab title, "(2) Desk", until seen.
// The rule (docs/desk.md, "New failures"):
// - new: an `onboard` event of type onboarding.failed received live by this page (a
//   replay after a reconnect included; the events of a fetched snapshot are not new);
// - counted in the title while the page is not attended (hidden or without focus) when
//   it arrives; attending the page again (visible and focused) sees them all;
// - highlighted (its session's rows, tr[data-session-id] or a ticket's
//   tr[data-ticket-session], get data-new-failure and a "New failure" label) until HOLD_MS after it was seen, or at once when its row is
//   viewed: hovered, focused or clicked.

import { el } from "./dom.js";

export const HOLD_MS = 60_000;
const PREFIX = /^\(\d+\) /;

/**
 * The session a list row shows.
 * @param {any} row
 * @returns {string | null}
 */
function sessionOf(row) {
  return row.getAttribute("data-session-id") ?? row.getAttribute("data-ticket-session");
}

export class NewFailures {
  /**
   * @param {{doc: any, win: any, t: Function, hold?: number}} options the document and
   *   window to watch (injected for tests), the translate function
   */
  constructor({ doc, win, t, hold = HOLD_MS }) {
    this.doc = doc;
    this.win = win;
    this.t = t;
    this.hold = hold;
    /** session id -> {unseen: number of failures not yet seen, until: ms or null} */
    this.sessions = new Map();
    this.timers = new Map();
  }

  /** Whether a person is looking at the page now. */
  attended() {
    const visible = this.doc.visibilityState === undefined || this.doc.visibilityState === "visible";
    const focused = typeof this.doc.hasFocus !== "function" || this.doc.hasFocus();
    return visible && focused;
  }

  /** Failures not yet seen: the number in the title. */
  count() {
    let n = 0;
    for (const entry of this.sessions.values()) n += entry.unseen;
    return n;
  }

  /**
   * Whether a session's rows are highlighted now.
   * @param {string} sessionId
   */
  isNew(sessionId) {
    return this.sessions.has(sessionId);
  }

  /**
   * A stream `onboard` event: a failure becomes new.
   * @param {any} message
   */
  arrive(message) {
    if (!message || message.event_type !== "onboarding.failed") return;
    const id = String(message.session_id);
    const entry = this.sessions.get(id) || { unseen: 0 };
    if (this.attended()) this.sessions.set(id, entry);
    else this.sessions.set(id, { unseen: entry.unseen + 1 });
    if (this.attended()) this.expire(id);
    this.update();
  }

  /** The page is attended again: every failure counted is seen. */
  seeAll() {
    if (!this.attended()) return;
    for (const [id, entry] of this.sessions) {
      if (entry.unseen) {
        entry.unseen = 0;
        this.expire(id);
      }
    }
    this.update();
  }

  /**
   * A row of the session was viewed: its failures are seen and the highlight goes.
   * @param {string} sessionId
   */
  see(sessionId) {
    if (!this.sessions.delete(sessionId)) return;
    clearTimeout(this.timers.get(sessionId));
    this.timers.delete(sessionId);
    this.update();
  }

  /** Take a seen session's highlight off after the hold time. */
  expire(id) {
    clearTimeout(this.timers.get(id));
    this.timers.set(
      id,
      setTimeout(() => this.see(id), this.hold),
    );
  }

  /** Title and rows as the state says. */
  update() {
    this.title();
    this.mark(this.doc.body || this.doc);
  }

  /** "(N) " before the page's own title while N failures are unseen. */
  title() {
    const base = String(this.doc.title || "").replace(PREFIX, "");
    const n = this.count();
    const wanted = n ? `(${n}) ${base}` : base;
    if (this.doc.title !== wanted) this.doc.title = wanted;
  }

  /**
   * Highlight the rows of new failures under `root` (and only those).
   * @param {any} root
   */
  mark(root) {
    if (!root || typeof root.querySelectorAll !== "function") return;
    const rows = [
      ...root.querySelectorAll("tr[data-session-id]"),
      ...root.querySelectorAll("tr[data-ticket-session]"),
    ];
    for (const row of rows) {
      const fresh = this.isNew(sessionOf(row));
      const marked = row.getAttribute("data-new-failure") !== null;
      if (fresh && !marked) {
        row.setAttribute("data-new-failure", "");
        const cell = row.querySelector("td");
        if (cell) {
          cell.append(
            el("span", { class: "badge badge-new", "data-new-badge": "", text: this.t("newFailure.label") }),
          );
        }
      } else if (!fresh && marked) {
        row.removeAttribute("data-new-failure");
        for (const badge of row.querySelectorAll("[data-new-badge]")) badge.remove();
      }
    }
  }

  /**
   * Watch the page: attention, rows viewed, rows and titles redrawn by the views.
   */
  watch() {
    const { doc, win } = this;
    const seeAll = () => this.seeAll();
    doc.addEventListener("visibilitychange", seeAll);
    win.addEventListener("focus", seeAll);
    const viewed = (event) => {
      const row = event.target && event.target.closest ? event.target.closest("tr[data-new-failure]") : null;
      if (row) this.see(sessionOf(row));
    };
    for (const name of ["mouseover", "focusin", "click"]) doc.addEventListener(name, viewed);
    if (typeof win.MutationObserver === "function") {
      // The views redraw their rows and titles: highlight again, prefix again.
      const observer = new win.MutationObserver(() => {
        if (this.sessions.size) this.mark(doc.body);
        if (this.count() && !PREFIX.test(doc.title)) this.title();
      });
      observer.observe(doc.body, { childList: true, subtree: true });
      const head = doc.querySelector("title");
      if (head) observer.observe(head, { childList: true, characterData: true, subtree: true });
    }
  }
}
