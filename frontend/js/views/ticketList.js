// The tickets list with status and tag filters (a plain GET form), refreshed live.

import { getJSON } from "../api.js";
import { debounce, el, fill } from "../dom.js";
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
  const load = async () => {
    try {
      const page = await getJSON(path(null));
      tickets = page.tickets;
      next = page.next;
      show();
    } catch {
      fill(listNode, [el("p", { class: "error", text: ctx.t("error.load") })]);
    }
  };
  more.addEventListener("click", async () => {
    const page = await getJSON(path(next));
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
