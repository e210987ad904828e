// Dashboard: the funnel card, active sessions and recent tickets, all live.

import { getJSON } from "../api.js";
import { coalesce, el, fill, scrollStopWhileOverflowing } from "../dom.js";
import { applyToActive, replacesFunnel, SnapshotLoads } from "../viewData.js";
import { renderFunnel } from "./funnel.js";
import { renderActive, renderTickets } from "./tables.js";
import { renderTrend } from "./trend.js";

const WINDOWS = ["24", "48", "168"];
const MAX_HOURS = 720; // GET /api/v1/onboard/funnel accepts 1-720

/**
 * ?hours= as the funnel API takes it (a whole number 1-720, no sign or zero padding), or
 * null: the page then shows its default window.
 * @param {string | null} raw
 * @returns {string | null}
 */
export function windowFrom(raw) {
  if (raw === null || !/^[1-9][0-9]{0,2}$/.test(raw)) return null;
  return Number(raw) <= MAX_HOURS ? raw : null;
}
const RECENT_TICKETS = 10;
const RECENT_EVENTS = 500; // kept to re-apply those newer than a pushed funnel

/**
 * @param {HTMLElement} root the [data-dashboard] element
 * @param {any} ctx {t, lang, now, live}
 */
export function initDashboard(root, ctx) {
  const funnelNode = root.querySelector("[data-funnel]");
  const activeNode = root.querySelector("[data-active]");
  const ticketsNode = root.querySelector("[data-recent-tickets]");
  const trendNode = root.querySelector("[data-trend]");
  const select = root.querySelector("[data-window]");
  // The recent tickets scroll inside their region on a phone: a Tab stop only then.
  if (ticketsNode) scrollStopWhileOverflowing(ticketsNode);
  const wanted = windowFrom(new URLSearchParams(window.location.search).get("hours"));
  if (wanted !== null && !WINDOWS.includes(wanted)) {
    // Any window the API accepts (?hours=72): offered beside the usual ones.
    select.append(el("option", { value: wanted, text: ctx.t("hours.any", { n: wanted }) }));
  }
  let hours = wanted ?? select.value;
  select.value = hours;
  let funnel = null;
  let active = [];
  const seen = new Set();
  /** @type {any[]} the last onboard messages, oldest first */
  const recent = [];
  // Fetches can overlap (start, reset, window change) and land in any order; stream
  // events that arrive during a funnel fetch may be newer than the snapshot it brings.
  const funnelLoads = new SnapshotLoads();
  const ticketLoads = new SnapshotLoads();

  const showActive = () => renderActive(activeNode, active, funnel, ctx);
  // A funnel document, fetched or pushed, with the live events that may be newer than it.
  const showFunnel = (document, arrived = []) => {
    if (String(document.window_hours) !== hours || !replacesFunnel(document, funnel)) return;
    funnel = document;
    active = document.active_sessions || [];
    for (const message of arrived) active = applyToActive(active, message);
    renderFunnel(funnelNode, funnel, ctx);
    showActive();
  };
  const loadFunnel = async () => {
    const load = funnelLoads.begin();
    let document = null;
    try {
      document = await getJSON(`/api/v1/onboard/funnel?hours=${hours}`);
    } catch {
      // shown below, unless a newer answer was shown already
    }
    if (!funnelLoads.finish(load)) return;
    if (document) showFunnel(document, load.arrived);
    else fill(funnelNode, [el("p", { class: "error", text: ctx.t("error.load") })]);
  };
  const loadTickets = async () => {
    const load = ticketLoads.begin();
    let page = null;
    try {
      page = await getJSON(`/api/v1/desk/tickets?limit=${RECENT_TICKETS}`);
    } catch {
      // shown below, unless a newer answer was shown already
    }
    if (!ticketLoads.finish(load)) return;
    if (page) renderTickets(ticketsNode, page.tickets, ctx);
    else fill(ticketsNode, [el("p", { class: "error", text: ctx.t("error.load") })]);
  };
  const trendLoads = new SnapshotLoads();
  const trendCsv = root.querySelector("[data-trend-csv]");
  const loadTrend = async () => {
    if (trendCsv) trendCsv.setAttribute("href", `/api/v1/onboard/trend.csv?hours=${hours}`);
    if (!trendNode) return;
    const load = trendLoads.begin();
    let trend = null;
    try {
      trend = await getJSON(`/api/v1/onboard/trend?hours=${hours}`);
    } catch {
      // shown below, unless a newer answer was shown already
    }
    if (!trendLoads.finish(load)) return;
    if (trend && String(trend.window_hours) === hours) renderTrend(trendNode, trend, ctx);
    else if (!trend) fill(trendNode, [el("p", { class: "error", text: ctx.t("error.load") })]);
  };
  const refreshTrend = coalesce(loadTrend, 2000); // at most every 2 s, never starved
  const load = () => Promise.all([loadFunnel(), loadTickets(), loadTrend()]);
  const refreshTickets = coalesce(loadTickets, 300); // at most every 300 ms, never starved

  ctx.live.params = { hours };
  ctx.live.on("reset", () => load());
  ctx.live.on("funnel", (document) => {
    // A pushed funnel may have been computed before events this page already applied:
    // re-apply those it does not include (Ops says the newest event it includes).
    const newer = Number.isInteger(document.last_event_id)
      ? recent.filter((message) => message.id > document.last_event_id)
      : [];
    showFunnel(document, newer);
  });
  ctx.live.on("onboard", (message) => {
    if (seen.has(message.id)) return;
    seen.add(message.id);
    recent.push(message);
    if (recent.length > RECENT_EVENTS) recent.shift();
    funnelLoads.arrive(message);
    active = applyToActive(active, message);
    showActive();
    if (message.ticket_id !== null) refreshTickets();
    refreshTrend();
  });
  select.addEventListener("change", () => {
    hours = select.value;
    const url = new URL(window.location.href);
    url.searchParams.set("hours", hours);
    window.history.replaceState(null, "", url);
    ctx.live.setParams({ hours });
    load();
  });
  window.setInterval(showActive, 15000); // "idle for" keeps counting
  load();
}
