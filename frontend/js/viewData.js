// Pure data helpers for the Desk's views: the stages and event types, the funnel card's
// rows, the active sessions, the timeline's entries, snapshot loads and stream URLs, made
// from API documents and stream messages. No DOM here, so node --test covers them.

import { contactOf } from "./contact.js";

export const STAGES = [
  "started",
  "domain_validated",
  "dns_applied",
  "account_created",
  "infra_synced",
  "completed",
];

export const EVENT_TYPES = [
  "onboarding.started",
  "domain.validated",
  "dns.applied",
  "account.created",
  "infra.synced",
  "onboarding.completed",
  "onboarding.failed",
  "mail.checked",
];

export const ACTIVE_LIMIT = 50;

/**
 * The funnel card's rows: one per stage with its count, ratios, bar width (relative to
 * started) and the median time to the next stage.
 * @param {any} funnel the funnel document of the API or of a `funnel` event
 * @returns {{stage: string, count: number, ofStarted: number|null, ofPrevious: number|null,
 *   width: number, medianSeconds: number|null}[]}
 */
export function funnelRows(funnel) {
  const stages = funnel?.stages || {};
  const started = stages.started || 0;
  return STAGES.map((stage) => {
    const count = stages[stage] || 0;
    const conversion = funnel?.conversion?.[stage] || {};
    const step = funnel?.time_to_convert?.[stage];
    return {
      stage,
      count,
      ofStarted: conversion.of_started ?? null,
      ofPrevious: conversion.of_previous ?? null,
      width: started ? Math.round((count / started) * 1000) / 10 : 0,
      medianSeconds: step ? step.median_seconds ?? null : null,
    };
  });
}

/**
 * Failed sessions by the step that failed (named by the stage it would have reached),
 * only the steps with failures.
 * @param {any} funnel
 * @returns {{stage: string, count: number}[]}
 */
export function failedRows(funnel) {
  const byStep = funnel?.failed_by_step || {};
  return STAGES.map((stage) => ({ stage, count: byStep[stage] || 0 })).filter(
    (row) => row.count > 0,
  );
}

/**
 * Active sessions in the order the dashboard shows them: stuck first, then moving, then
 * abandoned (by the server's `state`, vm122_ops/funnel/session_states.py), newest activity first within
 * each. Returns a new array.
 * @param {any[]} sessions
 * @returns {any[]}
 */
export function orderActive(sessions) {
  const rank = (s) => STATE_ORDER[s.state] ?? STATE_ORDER.moving;
  return [...sessions].sort(
    (a, b) => rank(a) - rank(b) || Date.parse(b.last_event_at) - Date.parse(a.last_event_at),
  );
}

const STATE_ORDER = { stuck: 0, moving: 1, abandoned: 2 };

/**
 * How many of the window's sessions are stuck now: the funnel's `stopped` counts summed
 * over the stages.
 * @param {any} funnel
 * @returns {number}
 */
export function stuckTotal(funnel) {
  return Object.values(funnel?.stopped || {}).reduce((sum, counts) => sum + (counts.stuck || 0), 0);
}

/**
 * The funnel card's headline figures and their change against the previous window of the
 * same length (the funnel's `previous`: the sessions that started in the window before,
 * with their status now). `before` and `change` are null without a previous window;
 * conversion (completed ÷ started) changes in percentage points.
 * @param {any} funnel
 * @returns {{key: string, now: number|null, before: number|null, change: number|null}[]}
 */
export function funnelChanges(funnel) {
  const previous = funnel?.previous || null;
  const count = (doc, key) =>
    key === "failed" ? doc?.failed ?? 0 : doc?.stages?.[key] ?? 0;
  const rows = ["started", "completed", "failed"].map((key) => {
    const now = count(funnel, key);
    const before = previous ? count(previous, key) : null;
    return { key, now, before, change: before === null ? null : now - before };
  });
  const ratio = (doc) => doc?.conversion?.completed?.of_started ?? null;
  const now = ratio(funnel);
  const before = previous ? ratio(previous) : null;
  const points = now !== null && before !== null ? Math.round((now - before) * 1000) / 10 : null;
  rows.push({ key: "conversion", now, before, change: points });
  return rows;
}

/**
 * The active-session list once a live `onboard` message is applied: the session is
 * updated or added (active), or removed (completed or failed); newest activity first.
 * Returns a new array; an older event never moves a session back.
 * @param {any[]} sessions
 * @param {any} message an `onboard` event's data
 * @param {number} [limit]
 * @returns {any[]}
 */
export function applyToActive(sessions, message, limit = ACTIVE_LIMIT) {
  const others = sessions.filter((s) => s.session_id !== message.session_id);
  if (message.status !== "active") return others;
  const previous = sessions.find((s) => s.session_id === message.session_id);
  const newer = !previous || Date.parse(message.occurred_at) >= Date.parse(previous.last_event_at);
  const updated = {
    session_id: message.session_id,
    domain: newer ? message.domain : previous.domain,
    stage: message.stage,
    last_event_type: newer ? message.event_type : previous.last_event_type,
    last_event_at: newer ? message.occurred_at : previous.last_event_at,
    started_at: previous ? previous.started_at : message.occurred_at,
    // The server classifies sessions (moving, stuck, abandoned) in each funnel it sends;
    // a session that just moved on is moving until the next one says otherwise.
    state: newer ? "moving" : previous.state,
    // Who to contact: the newest event's that carries one (vm122_ops/tickets/contacts.py).
    contact: newer
      ? contactOf(message) ?? previous?.contact ?? null
      : previous.contact ?? contactOf(message),
  };
  return [updated, ...others]
    .sort((a, b) => Date.parse(b.last_event_at) - Date.parse(a.last_event_at))
    .slice(0, limit);
}

/**
 * A page's loads of its snapshot, which can overlap (on start, on each `reset`, on
 * refetches), and the stream messages that arrive while each is in flight: those may be
 * newer than the snapshot the load brings, so the page merges them into it. Answers can
 * land out of order; one from a load begun before an answer already shown is stale.
 *
 *     const load = loads.begin(); ... await the fetch ...
 *     if (loads.finish(load)) show(snapshot merged with load.arrived);
 */
export class SnapshotLoads {
  constructor() {
    this.begun = 0;
    this.shown = 0;
    /** @type {Set<{seq: number, arrived: any[]}>} */
    this.pending = new Set();
  }

  /**
   * Start a load: stream messages are collected for it until it finishes.
   * @returns {{seq: number, arrived: any[]}}
   */
  begin() {
    const load = { seq: ++this.begun, arrived: [] };
    this.pending.add(load);
    return load;
  }

  /**
   * Note a stream message for every load in flight.
   * @param {any} message
   */
  arrive(message) {
    for (const load of this.pending) load.arrived.push(message);
  }

  /**
   * End a load (answered or failed): whether to show its answer, i.e. no load begun
   * after it has been shown already.
   * @param {{seq: number, arrived: any[]}} load
   * @returns {boolean}
   */
  finish(load) {
    this.pending.delete(load);
    if (load.seq < this.shown) return false;
    this.shown = load.seq;
    return true;
  }
}

/**
 * Whether a funnel document may replace the one shown: it is of another window, or it
 * was computed no earlier (a fetched one can land after a newer pushed one).
 * @param {any} document
 * @param {any} shown
 * @returns {boolean}
 */
export function replacesFunnel(document, shown) {
  if (!shown || String(shown.window_hours) !== String(document.window_hours)) return true;
  const candidate = Date.parse(document.generated_at);
  const current = Date.parse(shown.generated_at);
  return Number.isNaN(candidate) || Number.isNaN(current) || candidate >= current;
}

/**
 * A timeline with one more entry, kept in order (event time, then notes after events,
 * then id) and without duplicates (same kind and id).
 * @param {any[]} entries
 * @param {any} entry {kind, id, occurred_at, ...}
 * @returns {any[]}
 */
export function insertEntry(entries, entry) {
  const kind = entry.kind || "event";
  if (entries.some((e) => (e.kind || "event") === kind && e.id === entry.id)) return entries;
  const next = [...entries, { ...entry, kind }];
  const rank = { event: 0, note: 1, activity: 2 };
  next.sort(
    (a, b) =>
      Date.parse(a.occurred_at) - Date.parse(b.occurred_at) ||
      (rank[a.kind] ?? 1) - (rank[b.kind] ?? 1) ||
      a.id - b.id,
  );
  return next;
}

/**
 * A timeline entry made from a live `onboard` message.
 * @param {any} message
 * @returns {{kind: "event", id: number, event_type: string, occurred_at: string, data: any}}
 */
export function entryFromMessage(message) {
  return {
    kind: "event",
    id: message.id,
    event_type: message.event_type,
    occurred_at: message.occurred_at,
    data: message.data,
  };
}

/**
 * Entries of one event type (notes are kept), or all when `type` is empty.
 * @param {any[]} entries
 * @param {string} type
 * @returns {any[]}
 */
export function filterEntries(entries, type) {
  if (!type) return entries;
  return entries.filter((e) => e.kind === "note" || e.event_type === type);
}

/**
 * The stream URL for a page, with the last id seen when resuming.
 * @param {Record<string, string | number | null | undefined>} params
 * @param {string | null} lastEventId
 * @returns {string}
 */
export function streamUrl(params, lastEventId) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(key, String(value));
  }
  if (lastEventId) query.set("last_event_id", lastEventId);
  const text = query.toString();
  return text ? `/api/v1/stream?${text}` : "/api/v1/stream";
}
