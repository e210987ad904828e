// The tickets list: its work queues (needs action first, docs/desk.md "Queues") with their
// counts, status, assignee and tag filters (a plain GET form), its counts per status as
// links, priority and age per row, bulk resolve and assign, refreshed live on events of
// ticketed sessions and ticket changes.

import { getJSON, sendJSON } from "../api.js";
import { coalesce, el, fill } from "../dom.js";
import { label } from "../i18n.js";
import { SnapshotLoads } from "../viewData.js";
import { KNOWN_TAGS, renderTickets } from "./tables.js";

const PAGE = 50;
const FILTERS = ["queue", "status", "assignee", "tag"];
const STATUSES = ["open", "pending", "resolved", "closed"];
const QUEUES = ["needs_action", "handover", "all"];
const DEFAULT_QUEUE = "needs_action"; // the list opens on what needs a human first

/**
 * @param {HTMLElement} root the [data-tickets-page] element
 * @param {any} ctx
 */
export function initTicketList(root, ctx) {
  const form = root.querySelector("[data-ticket-filters]");
  const listNode = root.querySelector("[data-tickets]");
  const more = root.querySelector("[data-more]");
  const query = new URLSearchParams(window.location.search);
  // Opened bare, the list shows what needs a human first; a link with filters (a tag, a
  // status) means every queue unless it names one.
  if (!query.get("queue")) {
    const filtered = FILTERS.some((name) => query.get(name));
    query.set("queue", filtered ? "all" : DEFAULT_QUEUE);
  }
  const queuesNode = root.querySelector("[data-queue-tabs]");
  const bulkNode = root.querySelector("[data-bulk]");
  const bulkStatus = root.querySelector("[data-bulk-status]");
  /** @type {Set<number>} */
  const selected = new Set();
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
  const tagField = form.elements.namedItem("tag");
  if (tagField) {
    // Every tag the Desk has words for, by its label; a tag from the link it does not know, as is.
    const wanted = query.get("tag");
    const tags = wanted && !KNOWN_TAGS.includes(wanted) ? [...KNOWN_TAGS, wanted] : KNOWN_TAGS;
    fill(tagField, [
      el("option", { value: "", text: ctx.t("tickets.anyTag") }),
      ...tags.map((tag) => el("option", { value: tag, text: label(ctx.t, "tag", tag) })),
    ]);
  }
  for (const name of FILTERS) {
    const field = form.elements.namedItem(name);
    if (field && query.get(name)) field.value = query.get(name);
  }
  const csvLink = root.querySelector("[data-tickets-csv]");
  const explicit = (name) => name !== "queue" || query.get("queue") !== "all";
  if (csvLink) {
    // The same filters as the list, every page (docs/desk.md, "CSV downloads").
    const params = new URLSearchParams();
    for (const name of FILTERS) if (query.get(name) && explicit(name)) params.set(name, query.get(name));
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
  const showQueues = (queues) => {
    if (!queuesNode || !queues) return;
    fill(
      queuesNode,
      QUEUES.map((queue) => {
        const params = new URLSearchParams({ queue });
        return el("a", {
          href: `/tickets?${params}`,
          "data-queue": queue,
          "aria-current": query.get("queue") === queue ? "page" : null,
          text: ctx.t(`queue.${queue}`, { n: queues[queue] ?? 0 }),
        });
      }),
    );
  };
  const showBulk = () => {
    if (!bulkNode) return;
    const count = [...selected].filter((id) => tickets.some((t) => t.id === id)).length;
    bulkNode.querySelector("[data-bulk-count]").textContent = ctx.t("bulk.selected", { n: count });
    for (const button of bulkNode.querySelectorAll("button")) button.disabled = count === 0;
  };
  const show = () => {
    renderTickets(listNode, tickets, ctx, { work: true, selected });
    more.hidden = !next;
    const all = listNode.querySelector("[data-pick-all]");
    if (all) all.checked = tickets.length > 0 && tickets.every((t) => selected.has(t.id));
    showBulk();
  };
  listNode.addEventListener("change", (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement)) return;
    if (box.hasAttribute("data-pick-all")) {
      for (const ticket of tickets) {
        if (box.checked) selected.add(ticket.id);
        else selected.delete(ticket.id);
      }
      for (const pick of listNode.querySelectorAll("[data-pick]")) pick.checked = box.checked;
    } else if (box.hasAttribute("data-pick")) {
      const id = Number(box.getAttribute("data-pick"));
      if (box.checked) selected.add(id);
      else selected.delete(id);
    }
    showBulk();
  });
  const bulk = async (change) => {
    const chosen = tickets.filter((t) => selected.has(t.id)).map((t) => ({ id: t.id, version: t.version }));
    if (!chosen.length) return;
    let answer = null;
    try {
      answer = await sendJSON("POST", "/api/v1/desk/tickets/bulk", { tickets: chosen, ...change });
    } catch (error) {
      bulkStatus.textContent = ctx.t("ticket.failed", { e: String(error.message || error) });
      return;
    }
    if (answer.status !== 200 || !Array.isArray(answer.body.results)) {
      bulkStatus.textContent = ctx.t("ticket.failed", { e: String(answer.body.error || answer.status) });
      return;
    }
    const outcomes = { changed: 0, unchanged: 0, conflict: 0, refused: 0, not_found: 0 };
    for (const result of answer.body.results) outcomes[result.outcome] += 1;
    selected.clear();
    const parts = [ctx.t("bulk.changed", { n: outcomes.changed })];
    if (outcomes.conflict) parts.push(ctx.t("bulk.conflict", { n: outcomes.conflict }));
    if (outcomes.refused) parts.push(ctx.t("bulk.refused", { n: outcomes.refused }));
    if (outcomes.not_found) parts.push(ctx.t("bulk.gone", { n: outcomes.not_found }));
    bulkStatus.textContent = parts.join(" ");
    load();
  };
  if (bulkNode) {
    bulkNode.querySelector("[data-bulk-resolve]").addEventListener("click", () => bulk({ status: "resolved" }));
    bulkNode.querySelector("[data-bulk-assign]").addEventListener("click", () => {
      if (ctx.me) bulk({ assignee: ctx.me });
    });
    getJSON("/api/v1/desk/agents")
      .then((answer) => {
        ctx.me = answer.me;
      })
      .catch(() => {});
  }
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
    showQueues(page.queues);
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
