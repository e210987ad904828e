// The Desk's one EventSource. While the browser reports CONNECTING it retries by itself
// (with the server's retry: hint and the Last-Event-ID header). When it is CLOSED (an
// HTTP error, or the browser gave up) we back off with full jitter up to a cap and open a
// new EventSource with ?last_event_id=, since a new EventSource cannot send the header.

import { Backoff } from "./backoff.js";
import { streamUrl } from "./viewData.js";

const CLOSED = 2;
export const EVENT_NAMES = ["onboard", "ticket", "funnel", "reset", "alerts"];

/** A live connection to /api/v1/stream with resume, backoff and a visible state. */
export class LiveStream {
  /**
   * @param {{
   *   params?: Record<string, string | number | null>,
   *   EventSourceImpl?: any,
   *   timers?: {setTimeout: Function, clearTimeout: Function},
   *   backoff?: Backoff,
   *   probe?: () => Promise<unknown>,
   * }} [options] probe runs before reconnecting after CLOSED (e.g. a session check)
   */
  constructor(options = {}) {
    this.params = options.params || {};
    this.EventSourceImpl = options.EventSourceImpl || globalThis.EventSource;
    this.timers = options.timers || globalThis;
    this.backoff = options.backoff || new Backoff({ base: 1000, cap: 30000 });
    this.probe = options.probe || null;
    /** @type {string | null} */
    this.lastEventId = null;
    this.state = "connecting";
    this.source = null;
    this.timer = null;
    this.stopped = false;
    /** @type {Map<string, Function[]>} */
    this.handlers = new Map();
    /** @type {Function[]} */
    this.statusHandlers = [];
  }

  /**
   * Call `handler(data, id)` for each event of that name ("onboard", "funnel", "reset",
   * "alerts").
   * @param {string} name
   * @param {(data: any, id: string | null) => void} handler
   */
  on(name, handler) {
    if (!this.handlers.has(name)) this.handlers.set(name, []);
    this.handlers.get(name).push(handler);
  }

  /** @param {(state: "connecting" | "live" | "reconnecting") => void} handler */
  onStatus(handler) {
    this.statusHandlers.push(handler);
    handler(this.state);
  }

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    if (this.source) this.source.close();
    this.source = null;
  }

  /**
   * Reconnect with other parameters (e.g. another funnel window), resuming from the
   * last id seen.
   * @param {Record<string, string | number | null>} params
   */
  setParams(params) {
    this.params = params;
    if (this.stopped || !this.source) return;
    this.source.close();
    this.open();
  }

  open() {
    if (this.stopped) return;
    this.timer = null;
    const source = new this.EventSourceImpl(streamUrl(this.params, this.lastEventId));
    this.source = source;
    source.onopen = () => {
      if (source !== this.source) return;
      this.backoff.reset();
      this.setState("live");
    };
    source.onerror = () => {
      if (source !== this.source) return;
      if (source.readyState === CLOSED) {
        this.scheduleReconnect();
      } else {
        this.setState("reconnecting"); // the browser is retrying by itself
      }
    };
    for (const name of EVENT_NAMES) {
      source.addEventListener(name, (event) => {
        if (source !== this.source) return;
        this.dispatch(name, event);
      });
    }
  }

  scheduleReconnect() {
    if (this.source) this.source.close();
    this.source = null;
    this.setState("reconnecting");
    if (this.stopped || this.timer !== null) return;
    const delay = this.backoff.next();
    this.timer = this.timers.setTimeout(async () => {
      if (this.probe) {
        try {
          await this.probe();
        } catch {
          // unreachable or logged out: the probe has done what it must; retry anyway
        }
      }
      this.open();
    }, delay);
  }

  /**
   * @param {string} name
   * @param {{data: string, lastEventId?: string}} event
   */
  dispatch(name, event) {
    if (event.lastEventId) this.lastEventId = event.lastEventId;
    let data = null;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    for (const handler of this.handlers.get(name) || []) handler(data, event.lastEventId || null);
  }

  /** @param {"connecting" | "live" | "reconnecting"} state */
  setState(state) {
    if (state === this.state) return;
    this.state = state;
    for (const handler of this.statusHandlers) handler(state);
  }
}
