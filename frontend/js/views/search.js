// The search box in every page's header and the results page (/search?q=).

import { getJSON } from "../api.js";
import { coalesce, el, fill } from "../dom.js";
import { formatDateTime } from "../format.js";
import { domainText, label } from "../i18n.js";
import { SnapshotLoads } from "../viewData.js";
import { sessionHref } from "./tables.js";

/**
 * The header's box shows the query of the results page it is on.
 * @param {HTMLInputElement} input
 */
export function initSearchBox(input) {
  if (window.location.pathname === "/search") {
    input.value = new URLSearchParams(window.location.search).get("q") || "";
  }
}

/**
 * @param {HTMLElement} node
 * @param {any[]} items
 * @param {{t: Function, lang: string}} ctx
 */
export function renderResults(node, items, { t, lang }) {
  if (!items.length) {
    fill(node, [el("p", { class: "muted", text: t("search.empty") })]);
    return;
  }
  const rows = items.map((s) =>
    el("tr", { "data-session-id": s.session_id }, [
      el("td", {}, [el("a", { href: sessionHref(s.session_id), text: domainText(t, s.domain) })]),
      el("td", { class: "mono", text: s.session_id }),
      el("td", { text: label(t, "stage", s.stage) }),
      el("td", { text: label(t, "status", s.status) }),
      el("td", {}, [
        s.ticket_id === null
          ? "–"
          : el("a", { href: `/tickets/${s.ticket_id}`, text: `#${s.ticket_id}` }),
      ]),
      el("td", { text: formatDateTime(s.last_event_at, lang) }),
      el("td", { text: label(t, "search.matched", s.matched) }),
    ]),
  );
  fill(node, [
    el("table", { class: "grid" }, [
      el("thead", {}, [
        el("tr", {}, [
          el("th", { text: t("active.domain") }),
          el("th", { text: t("ticket.session") }),
          el("th", { text: t("active.stage") }),
          el("th", { text: t("tickets.status") }),
          el("th", { text: t("cohort.ticket") }),
          el("th", { text: t("cohort.last") }),
          el("th", { text: t("search.matched") }),
        ]),
      ]),
      el("tbody", {}, rows),
    ]),
  ]);
}

/**
 * The results page: fetched on load, then again after stream events (at most once a
 * second, since any event may add or change a result) and at once on a `reset` (the
 * stream missed events: the page reloads its snapshot, like the other pages); a load that
 * failed (e.g. cut with the connection) is made again when the stream is live again.
 * @param {HTMLElement} root the [data-search-page] element
 * @param {any} ctx
 * @returns {Promise<void>} the first load
 */
export function initSearchPage(root, ctx) {
  const { t } = ctx;
  const summary = root.querySelector("[data-search-summary]");
  const results = root.querySelector("[data-search-results]");
  const q = (new URLSearchParams(window.location.search).get("q") || "").trim();
  const csvLink = root.querySelector("[data-search-csv]");
  if (csvLink) {
    csvLink.hidden = !q;
    if (q) csvLink.setAttribute("href", `/api/v1/desk/search.csv?${new URLSearchParams({ q })}`);
  }
  if (!q) {
    fill(results, [el("p", { class: "muted", text: t("search.empty") })]);
    return Promise.resolve();
  }
  // Loads overlap (first load, reset, refetches) and can answer out of order.
  const loads = new SnapshotLoads();
  let failed = false; // the results shown are an error: load again once the stream is back
  const load = async () => {
    const pending = loads.begin();
    let found = null;
    let problem = null;
    try {
      found = await getJSON(`/api/v1/desk/search?${new URLSearchParams({ q })}`);
    } catch (error) {
      problem = error;
    }
    if (!loads.finish(pending)) return;
    failed = !found;
    if (!found) {
      const text = problem && problem.status === 400 ? String(problem.message) : t("error.load");
      fill(results, [el("p", { class: "error", text })]);
      return;
    }
    summary.textContent = t("search.summary", { n: found.items.length, q: found.q });
    renderResults(results, found.items, ctx);
  };
  if (ctx.live) {
    const refresh = coalesce(load, 1000);
    ctx.live.on("reset", () => load());
    ctx.live.on("onboard", () => refresh());
    ctx.live.onStatus((state) => {
      if (state === "live" && failed) load();
    });
  }
  return load();
}
