// Dashboard: the funnel card, active sessions and recent tickets, all live.

import { getJSON } from "../api.js";
import { debounce, el, fill } from "../dom.js";
import { applyToActive } from "../state.js";
import { renderFunnel } from "./funnel.js";
import { renderActive, renderTickets } from "./tables.js";

const WINDOWS = ["24", "48", "168"];
const RECENT_TICKETS = 10;

/**
 * @param {HTMLElement} root the [data-dashboard] element
 * @param {any} ctx {t, lang, now, live}
 */
export function initDashboard(root, ctx) {
  const funnelNode = root.querySelector("[data-funnel]");
  const activeNode = root.querySelector("[data-active]");
  const ticketsNode = root.querySelector("[data-recent-tickets]");
  const select = root.querySelector("[data-window]");
  const wanted = new URLSearchParams(window.location.search).get("hours");
  let hours = WINDOWS.includes(wanted) ? wanted : select.value;
  select.value = hours;
  let funnel = null;
  let active = [];
  const seen = new Set();

  const showActive = () => renderActive(activeNode, active, funnel, ctx);
  const showFunnel = (document) => {
    funnel = document;
    active = document.active_sessions || [];
    renderFunnel(funnelNode, funnel, ctx);
    showActive();
  };
  const loadTickets = async () => {
    const page = await getJSON(`/api/v1/desk/tickets?limit=${RECENT_TICKETS}`);
    renderTickets(ticketsNode, page.tickets, ctx);
  };
  const load = async () => {
    try {
      const [document] = await Promise.all([
        getJSON(`/api/v1/onboard/funnel?hours=${hours}`),
        loadTickets(),
      ]);
      showFunnel(document);
    } catch (error) {
      fill(funnelNode, [el("p", { class: "error", text: ctx.t("error.load") })]);
    }
  };
  const refreshTickets = debounce(() => loadTickets().catch(() => {}), 300);

  ctx.live.params = { hours };
  ctx.live.on("reset", () => load());
  ctx.live.on("funnel", (document) => {
    if (String(document.window_hours) === hours) showFunnel(document);
  });
  ctx.live.on("onboard", (message) => {
    if (seen.has(message.id)) return;
    seen.add(message.id);
    active = applyToActive(active, message);
    showActive();
    if (message.ticket_id !== null) refreshTickets();
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
