// A ticket's priority in the list (docs/desk.md, "Queues"): from its failure's kind
// (`failure_kind`: a fault of ours or a provider's, or one the customer must fix), what
// kind of work it is, and its age. Worked out in the page: Ops' answer holds nothing that
// depends on the time of the request, so it can be kept while the database is the same.

export const DAY_MS = 24 * 3600 * 1000;
export const PRIORITIES = ["high", "normal", "low"];

/**
 * @param {{status: string, queue: string, kind: string, failure_kind: string|null, created_at: string}} ticket
 * @param {number} nowMs
 * @returns {"high"|"normal"|"low"}
 */
export function priority(ticket, nowMs) {
  if (ticket.status === "resolved" || ticket.status === "closed") return "low";
  if (ticket.queue !== "needs_action") return "low";
  if (ticket.failure_kind === "fault") return "high";
  const age = nowMs - Date.parse(ticket.created_at);
  return age > DAY_MS ? "high" : "normal";
}

/**
 * The ticket's age in seconds (since it opened), or null.
 * @param {{created_at: string}} ticket
 * @param {number} nowMs
 */
export function ageSeconds(ticket, nowMs) {
  const then = Date.parse(ticket.created_at);
  return Number.isNaN(then) ? null : Math.max(0, (nowMs - then) / 1000);
}
