// A funnel count's sessions (/funnel/sessions?hours=&stage=&state=[&code=]): the
// drill-down of the funnel card and of the failure-code card (code: the failed sessions
// whose last failure had it), newest activity first, paginated, refreshed live.

import { getJSON } from "../api.js";
import { coalesce, el, fill } from "../dom.js";
import { formatDateTime, formatDuration, secondsSince } from "../format.js";
import { label } from "../i18n.js";
import { SnapshotLoads } from "../state.js";
import { contactLink } from "./contact.js";
import { sessionHref } from "./tables.js";

const PAGE = 50;
const MAX_PAGE = 200;

/**
 * The list's rows as a table; every string from an event is text.
 * @param {HTMLElement} node
 * @param {any[]} items
 * @param {{t: Function, lang: string, now: () => number}} ctx
 */
export function renderCohort(node, items, { t, lang, now }) {
  if (!items.length) {
    fill(node, [el("p", { class: "muted", text: t("cohort.empty") })]);
    return;
  }
  const nowMs = now();
  const rows = items.map((s) =>
    el("tr", { "data-session-id": s.session_id }, [
      el("td", {}, [el("a", { href: sessionHref(s.session_id), text: s.domain })]),
      el("td", { text: label(t, "stage", s.stage) }),
      el("td", {}, [
        el("span", {
          class: "badge badge-state",
          "data-state": s.state,
          text: label(t, "state", s.state),
        }),
      ]),
      el("td", {}, [
        el("span", { class: "mono", text: s.last_event_type }),
        el("span", { class: "failure-reason", text: formatDateTime(s.last_event_at, lang) }),
      ]),
      el("td", { text: formatDuration(secondsSince(s.last_event_at, nowMs), lang) }),
      el(
        "td",
        { "data-failure": "" },
        s.failure_code === null
          ? []
          : [
              el("span", { class: "mono", "data-code": "", text: s.failure_code }),
              el("span", {
                class: "failure-reason",
                "data-reason": "",
                text: s.failure_reason || t("timeline.noReason"),
              }),
              el("span", { class: "muted", text: label(t, "step", s.failed_step) }),
            ],
      ),
      el("td", {}, [
        s.ticket_id === null
          ? "–"
          : el("a", { href: `/tickets/${s.ticket_id}`, text: `#${s.ticket_id}` }),
      ]),
      el("td", { class: "contact" }, [contactLink(s.contact, t)]),
    ]),
  );
  fill(node, [
    el("table", { class: "grid" }, [
      el("thead", {}, [
        el("tr", {}, [
          el("th", { text: t("cohort.domain") }),
          el("th", { text: t("cohort.stage") }),
          el("th", { text: t("cohort.state") }),
          el("th", { text: t("cohort.last") }),
          el("th", { text: t("cohort.idle") }),
          el("th", { text: t("cohort.failure") }),
          el("th", { text: t("cohort.ticket") }),
          el("th", { text: t("contact.label") }),
        ]),
      ]),
      el("tbody", {}, rows),
    ]),
  ]);
}

/**
 * @param {HTMLElement} root the [data-cohort-page] element
 * @param {any} ctx
 */
export function initCohortList(root, ctx) {
  const { t } = ctx;
  const listNode = root.querySelector("[data-cohort]");
  const totalNode = root.querySelector("[data-cohort-total]");
  const titleNode = root.querySelector("[data-cohort-title]");
  const back = root.querySelector("[data-cohort-back]");
  const more = root.querySelector("[data-more]");
  const query = new URLSearchParams(window.location.search);
  const filters = {};
  for (const name of ["hours", "stage", "state", "code"]) if (query.get(name)) filters[name] = query.get(name);
  titleNode.textContent = [
    label(t, "cohort.title", filters.state),
    filters.stage ? t("cohort.at", { stage: label(t, "stage", filters.stage) }) : null,
    filters.code ? t("cohort.code", { code: filters.code }) : null,
    filters.hours ? `· ${t("cohort.window", { hours: filters.hours })}` : null,
  ]
    .filter(Boolean)
    .join(" ");
  document.title = titleNode.textContent;
  if (filters.hours) back.setAttribute("href", `/?hours=${encodeURIComponent(filters.hours)}`);
  const csvLink = root.querySelector("[data-cohort-csv]");
  if (csvLink) {
    // The same filters, every page (docs/webhook-funnel-events.md).
    csvLink.setAttribute("href", `/api/v1/onboard/funnel/sessions.csv?${new URLSearchParams(filters)}`);
  }
  let items = [];
  let next = null;

  const path = (cursor, limit) => {
    const params = new URLSearchParams({ ...filters, limit: String(limit) });
    if (cursor) params.set("cursor", cursor);
    return `/api/v1/onboard/funnel/sessions?${params}`;
  };
  const show = (total) => {
    totalNode.textContent = t("cohort.total", { n: total });
    renderCohort(listNode, items, ctx);
    more.hidden = !next;
  };
  // The first load, resets and live refetches can overlap and land in any order; a
  // refetch keeps as many rows as are shown (up to a page's maximum).
  const loads = new SnapshotLoads();
  const load = async () => {
    const pending = loads.begin();
    let page = null;
    let problem = null;
    try {
      page = await getJSON(path(null, Math.min(MAX_PAGE, Math.max(PAGE, items.length))));
    } catch (error) {
      problem = error;
    }
    if (!loads.finish(pending)) return;
    if (!page) {
      const text =
        problem && problem.status === 400
          ? t("cohort.bad", { reason: String(problem.message) })
          : t("error.load");
      fill(listNode, [el("p", { class: "error", text })]);
      return;
    }
    items = page.items;
    next = page.next;
    show(page.total);
  };
  more.addEventListener("click", async () => {
    const shown = items;
    const page = await getJSON(path(next, PAGE));
    if (items !== shown) return; // the list was reloaded meanwhile: this page is stale
    items = [...items, ...page.items];
    next = page.next;
    show(page.total);
  });
  const refresh = coalesce(load, 1000); // at most once a second, never starved
  ctx.live.on("reset", () => load());
  ctx.live.on("onboard", () => refresh());
  window.setInterval(() => renderCohort(listNode, items, ctx), 15000); // idle keeps counting
  load();
}
