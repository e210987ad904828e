// The tickets list with status, assignee and tag filters (a plain GET form), its counts
// per status as links, refreshed live on events of ticketed sessions and ticket changes.

import { getJSON } from "../api.js";
import { coalesce, el, fill } from "../dom.js";
import { label } from "../i18n.js";
import { SnapshotLoads } from "../state.js";
import { renderTickets } from "./tables.js";

const PAGE = 50;
const FILTERS = ["status", "assignee", "tag"];
const STATUSES = ["open", "pending", "resolved", "closed"];

/**
 * @param {HTMLElement} root the [data-tickets-page] element
 * @param {any} ctx
 */
export function initTicketList(root, ctx) {
  const form = root.querySelector("[data-ticket-filters]");
  const listNode = root.querySelector("[data-tickets]");
  const more = root.querySelector("[data-more]");
  const query = new URLSearchParams(window.location.search);
  const countsNode = root.querySelector("[data-status-counts]");
  const assigneeField = form.elements.namedItem("assignee");
  if (assigneeField) {
    // The agents, to filter by any of them (added after "anyone", "mine", "unassigned").
    getJSON("/api/v1/desk/agents")
      .then((answer) => {
        for (const agent of answer.agents) {
          assigneeField.append(el("option", { value: agent.name, text: agent.name }));
        }
        if (query.get("assignee")) assigneeField.value = query.get("assignee");
      })
      .catch(() => {});
  }
  for (const name of FILTERS) {
    const field = form.elements.namedItem(name);
    if (field && query.get(name)) field.value = query.get(name);
  }
  const csvLink = root.querySelector("[data-tickets-csv]");
  if (csvLink) {
    // The same filters as the list, every page (docs/desk.md, "CSV downloads").
    const params = new URLSearchParams();
    for (const name of FILTERS) if (query.get(name)) params.set(name, query.get(name));
    csvLink.setAttribute("href", params.toString() ? `/api/v1/desk/tickets.csv?${params}` : "/api/v1/desk/tickets.csv");
  }
  let tickets = [];
  let next = null;

  const path = (cursor) => {
    const params = new URLSearchParams({ limit: String(PAGE) });
    for (const name of FILTERS) if (query.get(name)) params.set(name, query.get(name));
    if (cursor) params.set("cursor", cursor);
    return `/api/v1/desk/tickets?${params}`;
  };
  const showCounts = (counts) => {
    if (!countsNode || !counts) return;
    const link = (status, text) => {
      const params = new URLSearchParams();
      for (const name of FILTERS) if (name !== "status" && query.get(name)) params.set(name, query.get(name));
      if (status) params.set("status", status);
      const current = (query.get("status") || "") === status;
      return el("a", {
        href: params.toString() ? `/tickets?${params}` : "/tickets",
        "data-count-status": status || "all",
        "aria-current": current ? "page" : null,
        text,
      });
    };
    const total = STATUSES.reduce((sum, status) => sum + (counts[status] || 0), 0);
    fill(countsNode, [
      link("", `${ctx.t("tickets.all")} (${total})`),
      ...STATUSES.map((status) => link(status, `${label(ctx.t, "status", status)} (${counts[status] || 0})`)),
    ]);
  };
  const show = () => {
    renderTickets(listNode, tickets, ctx);
    more.hidden = !next;
  };
  // The first load, resets and live refetches can overlap and land in any order.
  const loads = new SnapshotLoads();
  const load = async () => {
    const pending = loads.begin();
    let page = null;
    try {
      page = await getJSON(path(null));
    } catch {
      // shown below, unless a newer answer was shown already
    }
    if (!loads.finish(pending)) return;
    if (!page) {
      fill(listNode, [el("p", { class: "error", text: ctx.t("error.load") })]);
      return;
    }
    tickets = page.tickets;
    next = page.next;
    show();
    showCounts(page.counts);
  };
  more.addEventListener("click", async () => {
    const shown = tickets;
    const page = await getJSON(path(next));
    if (tickets !== shown) return; // the list was reloaded meanwhile: this page is stale
    tickets = [...tickets, ...page.tickets];
    next = page.next;
    show();
  });
  const refresh = coalesce(load, 300); // at most every 300 ms, never starved
  ctx.live.on("reset", () => load());
  ctx.live.on("onboard", (message) => {
    if (message.ticket_id !== null) refresh();
  });
  ctx.live.on("ticket", () => refresh());
  load();
}
