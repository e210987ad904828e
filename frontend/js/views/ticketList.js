// The tickets list with status and tag filters (a plain GET form), refreshed live.

import { getJSON } from "../api.js";
import { debounce, el, fill } from "../dom.js";
import { SnapshotLoads } from "../state.js";
import { renderTickets } from "./tables.js";

const PAGE = 50;

/**
 * @param {HTMLElement} root the [data-tickets-page] element
 * @param {any} ctx
 */
export function initTicketList(root, ctx) {
  const form = root.querySelector("[data-ticket-filters]");
  const listNode = root.querySelector("[data-tickets]");
  const more = root.querySelector("[data-more]");
  const query = new URLSearchParams(window.location.search);
  for (const name of ["status", "tag"]) {
    const field = form.elements.namedItem(name);
    if (field && query.get(name)) field.value = query.get(name);
  }
  let tickets = [];
  let next = null;

  const path = (cursor) => {
    const params = new URLSearchParams({ limit: String(PAGE) });
    for (const name of ["status", "tag"]) if (query.get(name)) params.set(name, query.get(name));
    if (cursor) params.set("cursor", cursor);
    return `/api/v1/desk/tickets?${params}`;
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
  };
  more.addEventListener("click", async () => {
    const shown = tickets;
    const page = await getJSON(path(next));
    if (tickets !== shown) return; // the list was reloaded meanwhile: this page is stale
    tickets = [...tickets, ...page.tickets];
    next = page.next;
    show();
  });
  const refresh = debounce(load, 300);
  ctx.live.on("reset", () => load());
  ctx.live.on("onboard", (message) => {
    if (message.ticket_id !== null) refresh();
  });
  load();
}
