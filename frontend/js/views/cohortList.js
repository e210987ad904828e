// A funnel count's sessions (/funnel/sessions?hours=&stage=&state=[&code=]): the
// drill-down of the funnel card and of the failure-code card (code: the failed sessions
// whose last failure had it), and of the breakdown card (by= with value=, or group=other
// with top=, or group=unknown: one group's sessions), newest activity first, paginated,
// refreshed live; state=started lists every session that reached the started stage, each
// in its own state. The heading names the filter; the CSV link carries it.

import { getJSON, sendJSON } from "../api.js";
import { coalesce, el, fill } from "../dom.js";
import { formatDateTime, formatDuration, secondsSince } from "../format.js";
import { domainText, label, refusalText } from "../i18n.js";
import { SnapshotLoads } from "../viewData.js";
import { contactLink } from "./contact.js";
import { sessionHref } from "./tables.js";

const PAGE = 50;
const MAX_PAGE = 200;
const ACTIVE = new Set(["moving", "stuck", "abandoned"]);
// The page's query parameters the API takes (GET /api/v1/onboard/funnel/sessions).
const FILTERS = ["hours", "stage", "state", "code", "by", "value", "group", "top"];
const STAGE_ORDER = ["started", "domain_validated", "dns_applied", "account_created", "infra_synced", "completed"];

/**
 * Why an active session is where it is: the step it waits on, how long it has been idle
 * against that step's usual pace (p90 of the last 7 days) and the time that makes it stuck.
 * @param {any} s an item of the drill-down
 * @param {any} paces the answer of GET /api/v1/onboard/paces, or null
 * @param {{t: Function, lang: string}} ctx
 * @param {number} nowMs
 * @returns {string}
 */
export function whyText(s, paces, { t, lang }, nowMs) {
  const index = Math.min(Math.max(0, STAGE_ORDER.indexOf(s.stage ?? "started")), 4);
  const step = STAGE_ORDER[index + 1];
  const idle = formatDuration(secondsSince(s.last_event_at, nowMs), lang);
  const pace = paces?.steps?.find((p) => p.stage === STAGE_ORDER[index]);
  const parts = [t("why.waits", { step: label(t, "step", step), idle })];
  if (pace) {
    parts.push(
      pace.p90_seconds === null
        ? t("why.noPace", { stuck: formatDuration(pace.stuck_after_seconds, lang) })
        : t("why.pace", { p90: formatDuration(pace.p90_seconds, lang), stuck: formatDuration(pace.stuck_after_seconds, lang) }),
    );
  }
  return parts.join(" ");
}

/**
 * The heading's part naming a breakdown's group ("· DNS mode: Cloudflare"), or null
 * without `by`. A value this Desk has no words for is shown as it is (text).
 * @param {Record<string, string>} filters the page's query
 * @param {Function} t
 * @returns {string | null}
 */
export function groupTitle(filters, t) {
  if (!filters.by) return null;
  let group = null;
  if (filters.value) group = label(t, `breakdown.value.${filters.by}`, filters.value);
  else if (filters.group === "unknown") group = t("breakdown.unknown");
  else if (filters.group === "other") group = t("cohort.groupOther", { n: filters.top || "5" });
  if (group === null) return null;
  return t("cohort.group", { by: label(t, "breakdown.dim", filters.by), group });
}

/**
 * The list's rows as a table; every string from an event is text.
 * @param {HTMLElement} node
 * @param {any[]} items
 * @param {{t: Function, lang: string, now: () => number}} ctx
 */
export function renderCohort(node, items, { t, lang, now, paces }) {
  if (!items.length) {
    fill(node, [el("p", { class: "muted", text: t("cohort.empty") })]);
    return;
  }
  const nowMs = now();
  const active = items.some((s) => ACTIVE.has(s.state));
  const rows = items.map((s) =>
    el("tr", { "data-session-id": s.session_id }, [
      el("td", {}, [el("a", { href: sessionHref(s.session_id), text: domainText(t, s.domain) })]),
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
        s.refusal_code
          ? [el("span", { "data-refusal": s.refusal_code, text: refusalText(t, s.refusal_code) })]
          : s.failure_code === null
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
      active
        ? el("td", { "data-why": "", text: ACTIVE.has(s.state) ? whyText(s, paces, { t, lang }, nowMs) : "" })
        : null,
      el("td", {}, [
        s.ticket_id === null
          ? "–"
          : el("a", { href: `/tickets/${s.ticket_id}`, text: `#${s.ticket_id}` }),
        ACTIVE.has(s.state)
          ? el("button", {
              type: "button",
              class: "secondary take",
              "data-take": s.session_id,
              "aria-label": t("take.label", { domain: domainText(t, s.domain) }),
              text: t("take.button"),
            })
          : null,
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
          active ? el("th", { text: t("cohort.why") }) : null,
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
  for (const name of FILTERS) if (query.get(name)) filters[name] = query.get(name);
  titleNode.textContent = [
    label(t, "cohort.title", filters.state),
    filters.stage ? t("cohort.at", { stage: label(t, "stage", filters.stage) }) : null,
    filters.code ? t("cohort.code", { code: filters.code }) : null,
    groupTitle(filters, t),
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
  const status = root.querySelector("[data-take-status]");
  // "Take it": the session's ticket as a follow-up assigned to me (docs/desk.md).
  listNode.addEventListener("click", async (event) => {
    const button = event.target;
    if (!(button instanceof HTMLElement) || !button.hasAttribute("data-take")) return;
    const sessionId = button.getAttribute("data-take");
    button.setAttribute("disabled", "");
    let answer = null;
    try {
      answer = await sendJSON("POST", `/api/v1/desk/sessions/${encodeURIComponent(sessionId)}/take`, {});
    } catch (error) {
      answer = { status: 0, body: { error: String(error.message || error) } };
    }
    button.removeAttribute("disabled");
    if (status) {
      const ticket = answer.body?.ticket;
      fill(status, [
        answer.status === 200 && ticket
          ? el("a", { href: `/tickets/${ticket.id}`, "data-taken": sessionId, text: t("take.done", { id: ticket.id, domain: domainText(t, ticket.domain) }) })
          : el("span", { class: "error", text: t("ticket.failed", { e: String(answer.body?.error || answer.status) }) }),
      ]);
    }
    load();
  });

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
  if (ACTIVE.has(filters.state || "") || filters.state === "started") {
    // The steps' paces, for each row's "why" (drawn again when they arrive).
    getJSON("/api/v1/onboard/paces")
      .then((answer) => {
        ctx.paces = answer;
        renderCohort(listNode, items, ctx);
      })
      .catch(() => {});
  }
}
