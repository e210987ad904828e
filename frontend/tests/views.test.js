// The views' loads against their live streams, with a fake DOM, fetch and stream: stream
// events that arrive while a snapshot loads are kept, and an answer that lands after a
// newer one is not shown.

import assert from "node:assert/strict";
import { mock, test } from "node:test";

import { translator } from "../js/i18n.js";
import { initDashboard } from "../js/views/dashboard.js";
import { initSessionPage, referenceOf } from "../js/views/session.js";
import { initTicketPage } from "../js/views/ticket.js";
import { initTicketList } from "../js/views/ticketList.js";
import { context, installBrowser, page } from "./fakedom.js";

const en = translator("en");

/** An `onboard` message as the stream sends it. */
function message(id, sessionId, eventType, { stage, status = "active", ticketId = null } = {}) {
  return {
    id,
    session_id: sessionId,
    domain: `${sessionId}.pt`,
    event_type: eventType,
    occurred_at: `2026-11-29T11:59:${String(id).padStart(2, "0")}.000Z`,
    data: { n: id },
    stage,
    status,
    ticket_id: ticketId,
  };
}

function activeSession(sessionId, stage, at) {
  return {
    session_id: sessionId,
    domain: `${sessionId}.pt`,
    stage,
    last_event_type: "onboarding.started",
    last_event_at: at,
    started_at: at,
  };
}

function funnelDocument({ hours = 24, generatedAt, started, active, lastEventId }) {
  return {
    window_hours: hours,
    since: "2026-11-28T12:00:00.000Z",
    generated_at: generatedAt,
    last_event_id: lastEventId,
    cohort: started,
    stages: { started },
    failed: 0,
    failed_by_step: {},
    failed_by_furthest_stage: {},
    conversion: {},
    time_to_convert: {},
    active_sessions: active,
  };
}

function ticketSummary(id, status = "open") {
  return {
    id,
    session_id: `s${id}`,
    domain: `s${id}.pt`,
    status,
    tags: [],
    updated_at: "2026-11-29T11:59:00.000Z",
  };
}

function dashboard() {
  const browser = installBrowser("http://desk.test/");
  const root = page({
    "data-funnel": "div",
    "data-active": "div",
    "data-recent-tickets": "div",
    "data-window": "select",
  });
  root.querySelector("[data-window]").value = "24";
  const ctx = context(en);
  initDashboard(root, ctx);
  const [funnel, tickets] = browser.requests;
  assert.match(funnel.url, /^\/api\/v1\/onboard\/funnel\?hours=24$/);
  assert.match(tickets.url, /^\/api\/v1\/desk\/tickets/);
  return { browser, root, ctx, funnel, tickets };
}

const activeIds = (root) =>
  root.querySelectorAll("tr[data-session-id]").map((row) => row.getAttribute("data-session-id"));
const startedCount = (root) =>
  root.querySelector('li[data-stage="started"]').querySelector("[data-count]").textContent;
const ticketIds = (node) =>
  node.querySelectorAll("tr[data-ticket-id]").map((row) => row.getAttribute("data-ticket-id"));

test("dashboard: a session that starts while the funnel loads stays in active sessions", async () => {
  const { root, ctx, funnel, tickets } = dashboard();
  // The snapshot is read before "late" started; its event reaches the page first.
  ctx.live.emit("onboard", message(7, "late", "onboarding.started", { stage: "started" }));
  await tickets.answer({ tickets: [], next: null });
  await funnel.answer(
    funnelDocument({
      generatedAt: "2026-11-29T11:59:00.000Z",
      started: 1,
      active: [activeSession("early", "started", "2026-11-29T11:58:00.000Z")],
    }),
  );
  assert.deepEqual(activeIds(root), ["late", "early"]);
});

test("dashboard: a pushed funnel computed before an applied event keeps that event", async () => {
  const { root, ctx, funnel, tickets } = dashboard();
  await tickets.answer({ tickets: [], next: null });
  await funnel.answer(
    funnelDocument({ generatedAt: "2026-11-29T11:59:00.000Z", started: 0, active: [],
                     lastEventId: 6 }),
  );
  // Event 7 is applied, then a funnel push computed before it (it includes up to 6).
  ctx.live.emit("onboard", message(7, "late", "onboarding.started", { stage: "started" }));
  ctx.live.emit(
    "funnel",
    funnelDocument({ generatedAt: "2026-11-29T11:59:01.000Z", started: 1,
                     active: [activeSession("early", "started", "2026-11-29T11:58:00.000Z")],
                     lastEventId: 6 }),
  );
  assert.deepEqual(activeIds(root), ["late", "early"]);
  // A later push that includes event 7 is taken as it is: nothing applied twice.
  ctx.live.emit(
    "funnel",
    funnelDocument({ generatedAt: "2026-11-29T11:59:02.000Z", started: 2,
                     active: [activeSession("early", "started", "2026-11-29T11:58:00.000Z")],
                     lastEventId: 7 }),
  );
  assert.deepEqual(activeIds(root), ["early"]);
});

test("dashboard: a fetched funnel older than a pushed one does not replace it", async () => {
  const { root, ctx, funnel, tickets } = dashboard();
  ctx.live.emit(
    "funnel",
    funnelDocument({ generatedAt: "2026-11-29T11:59:02.000Z", started: 3, active: [] }),
  );
  await tickets.answer({ tickets: [], next: null });
  await funnel.answer(
    funnelDocument({ generatedAt: "2026-11-29T11:59:01.000Z", started: 2, active: [] }),
  );
  assert.equal(startedCount(root), "3");
});

test("dashboard: a funnel fetched for a window no longer chosen is not shown", async () => {
  const { browser, root, funnel, tickets } = dashboard();
  const select = root.querySelector("[data-window]");
  select.value = "48";
  for (const handler of select.listeners.change) handler();
  const [funnel48, tickets48] = browser.requests.slice(2);
  assert.match(funnel48.url, /hours=48$/);
  await funnel48.answer(
    funnelDocument({ hours: 48, generatedAt: "2026-11-29T11:59:02.000Z", started: 5, active: [] }),
  );
  await tickets48.answer({ tickets: [], next: null });
  await funnel.answer(
    funnelDocument({ hours: 24, generatedAt: "2026-11-29T11:59:03.000Z", started: 1, active: [] }),
  );
  await tickets.answer({ tickets: [], next: null });
  assert.equal(startedCount(root), "5");
});

test("dashboard: recent tickets refetched after an event are not overwritten by the first answer", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { browser, root, ctx, funnel, tickets } = dashboard();
  ctx.live.emit("onboard", message(8, "s5", "account.created", { stage: "account_created", ticketId: 5 }));
  t.mock.timers.tick(300);
  const refetch = browser.requests[2];
  assert.match(refetch.url, /^\/api\/v1\/desk\/tickets/);
  await refetch.answer({ tickets: [ticketSummary(5)], next: null });
  await tickets.answer({ tickets: [], next: null }); // read before ticket 5 opened
  await funnel.answer(funnelDocument({ generatedAt: "2026-11-29T11:59:00.000Z", started: 1, active: [] }));
  assert.deepEqual(ticketIds(root.querySelector("[data-recent-tickets]")), ["5"]);
});

test("tickets list: the first answer landing after a live refetch's does not replace it", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const browser = installBrowser("http://desk.test/tickets");
  const root = page({ "data-ticket-filters": "form", "data-tickets": "div", "data-more": "button" });
  root.querySelector("[data-ticket-filters]").elements = { namedItem: () => null };
  const ctx = context(en);
  initTicketList(root, ctx);
  ctx.live.emit("onboard", message(8, "s5", "account.created", { stage: "account_created", ticketId: 5 }));
  t.mock.timers.tick(300);
  const [first, refetch] = browser.requests;
  await refetch.answer({ tickets: [ticketSummary(5)], next: null });
  await first.answer({ tickets: [], next: null });
  assert.deepEqual(ticketIds(root), ["5"]);
});

test("session page: the head shows the status of an event that arrived during the load", async () => {
  const browser = installBrowser("http://desk.test/sessions/s1");
  const root = page({ "data-session-head": "div", "data-timeline": "div", "data-event-filter": "select" });
  const ctx = context(en);
  initSessionPage(root, ctx);
  ctx.live.emit(
    "onboard",
    message(3, "s1", "onboarding.completed", { stage: "completed", status: "completed" }),
  );
  await browser.requests[0].answer({
    domain: "s1.pt",
    stage: "infra_synced",
    status: "active",
    events: [1, 2].map((id) => ({ ...message(id, "s1", "domain.validated"), kind: "event" })),
  });
  const ids = root.querySelectorAll("li[data-entry-id]").map((li) => li.getAttribute("data-entry-id"));
  assert.deepEqual(ids, ["1", "2", "3"]);
  assert.equal(root.querySelector("[data-status]").textContent, "completed");
});

test("ticket page: an older load landing last keeps the note and tag a newer one brought", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const browser = installBrowser("http://desk.test/tickets/5");
  const root = page({ "data-ticket-head": "div", "data-timeline": "div" });
  const ctx = context(en);
  initTicketPage(root, ctx);
  const completed = message(3, "s5", "onboarding.completed", {
    stage: "completed",
    status: "completed",
    ticketId: 5,
  });
  ctx.live.emit("onboard", completed);
  t.mock.timers.tick(300); // completion refetches the ticket for its note and tag
  const [first, reload] = browser.requests;
  const ticket = (tags, timeline) => ({
    ...ticketSummary(5),
    subject: "Onboarding of s5.pt",
    stage: "completed",
    session_status: "completed",
    tags,
    timeline,
  });
  const event = (m) => ({ kind: "event", id: m.id, event_type: m.event_type, occurred_at: m.occurred_at, data: m.data });
  const note = { kind: "note", id: 1, occurred_at: completed.occurred_at, text: "Onboarding completed" };
  await reload.answer(ticket(["ready_for_ops"], [event(message(1, "s5", "account.created")), event(completed), note]));
  await first.answer(ticket([], [event(message(1, "s5", "account.created"))]));
  assert.equal(root.querySelectorAll('li[data-kind="note"]').length, 1);
  assert.equal(root.querySelector("[data-tag]").getAttribute("data-tag"), "ready_for_ops");
  assert.equal(root.querySelector("[data-tags]").textContent, "ready for Ops");
});

test("funnel card in pt-PT: sub-second and decimal medians, decimal commas", async () => {
  const browser = installBrowser("http://desk.test/");
  const root = page({
    "data-funnel": "div",
    "data-active": "div",
    "data-recent-tickets": "div",
    "data-window": "select",
  });
  root.querySelector("[data-window]").value = "24";
  const ctx = { ...context(translator("pt")), lang: "pt" };
  initDashboard(root, ctx);
  const document = funnelDocument({ generatedAt: "2026-11-29T11:59:00.000Z", started: 1000, active: [] });
  document.stages = { started: 1000, domain_validated: 43 };
  document.conversion = { domain_validated: { of_started: 0.043, of_previous: 0.043 } };
  document.time_to_convert = {
    started: { to: "domain_validated", sessions: 43, median_seconds: 0.004, p90_seconds: 0.35 },
    domain_validated: { to: "dns_applied", sessions: 0, median_seconds: null, p90_seconds: null },
    dns_applied: { to: "account_created", sessions: 9, median_seconds: 59.7, p90_seconds: 60 },
    account_created: { to: "infra_synced", sessions: 9, median_seconds: 5400, p90_seconds: 7200 },
  };
  await browser.requests[0].answer(document);
  const row = (stage) => root.querySelector(`li[data-stage="${stage}"]`);
  const median = (stage) => row(stage).children.at(-1).textContent;
  assert.equal(median("started"), "mediana 4 ms até ao seguinte");
  assert.equal(median("domain_validated"), "mediana – até ao seguinte");
  assert.equal(median("dns_applied"), "mediana 59,7 s até ao seguinte");
  assert.equal(median("account_created"), "mediana 1 h 30 min até ao seguinte");
  // label, bar, count, change, then % of started
  assert.equal(row("domain_validated").children[4].textContent, "4,3 % das iniciadas");
});

test("ticket page in pt-PT: the subject and Ops's note in Portuguese, an unknown note as stored", async () => {
  const browser = installBrowser("http://desk.test/tickets/5");
  const root = page({ "data-ticket-head": "div", "data-timeline": "div" });
  initTicketPage(root, { ...context(translator("pt")), lang: "pt" });
  const ready = {
    kind: "note",
    note_kind: "ready_for_ops",
    id: 1,
    occurred_at: "2026-11-29T11:59:03.000Z",
    text: "Onboarding completed: the mail domain is ready for operations (ready_for_ops).",
  };
  // A note without a kind the Desk knows (null, or one newer than this page): as stored.
  const note = {
    kind: "note",
    note_kind: null,
    id: 2,
    occurred_at: "2026-11-29T11:59:04.000Z",
    text: "Something Ops wrote in English.",
  };
  await browser.requests[0].answer({
    ...ticketSummary(5),
    subject: "Onboarding of s5.pt",
    stage: "completed",
    session_status: "completed",
    tags: ["ready_for_ops"],
    timeline: [ready, note, { ...note, id: 3, note_kind: "newer_kind" }],
  });
  const subject = root.querySelector("[data-subject]");
  assert.equal(subject.textContent, "Adesão de s5.pt");
  assert.equal(subject.getAttribute("lang"), null);
  const facts = root.querySelector("dl").children;
  assert.equal(facts[facts.indexOf(subject) - 1].textContent, "Assunto");
  const [first, second, third] = root.querySelectorAll('li[data-kind="note"]');
  const [label, body] = first.children.slice(1);
  assert.equal(label.textContent, "Nota automática");
  assert.equal(body.getAttribute("lang"), null);
  assert.equal(
    body.textContent,
    "Adesão concluída: o domínio de correio está pronto para a equipa de operações.",
  );
  for (const item of [second, third]) {
    const [, stored] = item.children.slice(1);
    assert.equal(stored.getAttribute("lang"), "en");
    assert.equal(stored.textContent, note.text);
  }
});

test("timeline: onboarding.failed without a reason says so, with one shows it", async () => {
  installBrowser("http://desk.test/sessions/s1");
  const { renderTimeline } = await import("../js/views/timeline.js");
  const root = page({ "data-timeline": "div" });
  const node = root.querySelector("[data-timeline]");
  const failed = (id, data) => ({
    ...message(id, "s1", "onboarding.failed"),
    kind: "event",
    data: { session_id: "s1", domain: "s1.pt", ...data },
  });
  renderTimeline(node, [failed(1, { stage: "dns_applied" }), failed(2, { reason: "boom" })], {
    t: en,
    lang: "en",
  });
  const bodies = root.querySelectorAll("p[data-sentence]").map((p) => p.textContent);
  assert.equal(bodies.length, 2);
  assert.equal(bodies[0], "Failed at DNS records: no code — no reason given");
  assert.equal(bodies[1], "Failed at an unknown step: no code — boom");
});

test("banner: a line per condition with its figures and session links, hidden when none", async () => {
  const { renderBanner } = await import("../js/views/banner.js");
  const { translator } = await import("../js/i18n.js");
  const t = translator("en");
  installBrowser("http://desk.test/");
  const node = document.createElement("section");
  renderBanner(
    node,
    {
      conditions: [
        {
          kind: "failure_spike",
          figures: { minutes: 15, failed: 6, started: 8, percent: 75, codes: [{ step: "account_created", code: "carbonio:x", failures: 6 }] },
          sessions: [{ session_id: "s/1", domain: "<b>x</b>.pt", stage: "dns_applied", last_event_at: "2026-11-29T11:58:00.000Z" }],
        },
      ],
    },
    t,
  );
  assert.equal(node.hidden, false);
  const text = node.textContent;
  assert.ok(text.includes("Failure spike: 6 failures for 8 sessions started in the last 15 min."), text);
  assert.ok(text.includes("carbonio:x at Account creation: 6."), text);
  const link = node.querySelector("a");
  assert.equal(link.getAttribute("href"), "/sessions/s%2F1");
  assert.equal(link.textContent, "<b>x</b>.pt");
  renderBanner(node, { conditions: [] }, t);
  assert.equal(node.hidden, true);
  assert.equal(node.textContent, "");
});

test("timeline: dns.applied says DNS is the customer's and what DKIM needs", async () => {
  installBrowser("http://desk.test/sessions/s1");
  const { renderTimeline } = await import("../js/views/timeline.js");
  const root = page({ "data-timeline": "div" });
  const entry = {
    ...message(1, "s1", "dns.applied"),
    kind: "event",
    data: {
      session_id: "s1",
      domain: "s1.pt",
      mode: "manual",
      dkim: { status: "pending", operations: ["run zmdkimkeyutil -a -d s1.pt", "publish it"] },
    },
  };
  renderTimeline(root.querySelector("[data-timeline]"), [entry], { t: en, lang: "en" });
  const [body] = root.querySelectorAll("p[data-sentence]").map((p) => p.textContent);
  assert.match(body, /^DNS left to the customer: 0 records to publish/);
  const facts = root.querySelectorAll("li[data-fact]").map((li) => li.textContent);
  assert.deepEqual(facts, ["DKIM pending, to do: run zmdkimkeyutil -a -d s1.pt ; publish it"]);
});

test("tickets list: the CSV link carries the list's filters, not its paging", async () => {
  const browser = installBrowser("http://desk.test/tickets?status=open&tag=vip&assignee=me&cursor=x");
  const root = page({
    "data-ticket-filters": "form",
    "data-tickets": "div",
    "data-more": "button",
    "data-tickets-csv": "a",
  });
  root.querySelector("[data-ticket-filters]").elements = { namedItem: () => null };
  initTicketList(root, context(en));
  assert.equal(
    root.querySelector("[data-tickets-csv]").getAttribute("href"),
    "/api/v1/desk/tickets.csv?status=open&assignee=me&tag=vip",
  );
  await browser.requests[0].answer({ tickets: [], next: null });
});

test("tickets list and dashboard: a steady stream of events cannot starve their live refetch", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const browser = installBrowser("http://desk.test/tickets");
  const root = page({ "data-ticket-filters": "form", "data-tickets": "div", "data-more": "button" });
  root.querySelector("[data-ticket-filters]").elements = { namedItem: () => null };
  const ctx = context(en);
  initTicketList(root, ctx);
  // An event every 200 ms for three seconds (a trailing 300 ms debounce never fires).
  for (let ms = 0; ms < 3000; ms += 200) {
    ctx.live.emit("onboard", message(ms / 200 + 1, "s5", "account.created", { ticketId: 5 }));
    t.mock.timers.tick(200);
  }
  const refetches = browser.requests.length - 1;
  assert.ok(refetches >= 5, `${refetches} ticket-list refetches in 3 s`);

  const board = dashboard();
  const before = board.browser.requests.filter((r) => r.url.startsWith("/api/v1/desk/tickets")).length;
  for (let ms = 0; ms < 3000; ms += 200) {
    board.ctx.live.emit("onboard", message(ms / 200 + 1, "s6", "account.created", { ticketId: 6 }));
    t.mock.timers.tick(200);
  }
  const after = board.browser.requests.filter((r) => r.url.startsWith("/api/v1/desk/tickets")).length;
  assert.ok(after - before >= 5, `${after - before} recent-ticket refetches in 3 s`);
});

test("banner: one stuck session is singular, links to every stuck session, and folds", async () => {
  const { renderBanner, STUCK_LIST } = await import("../js/views/banner.js");
  const { translator } = await import("../js/i18n.js");
  installBrowser("http://desk.test/");
  const node = document.createElement("section");
  const alerts = { conditions: [{ kind: "stuck_sessions", figures: { stuck: 1, threshold: 1 }, sessions: [] }] };
  renderBanner(node, alerts, translator("pt"));
  assert.ok(node.textContent.includes("1 sessão está parada (alerta aos 1)."), node.textContent);
  const all = node.querySelector("[data-stuck-list]");
  assert.equal(all.getAttribute("href"), STUCK_LIST);
  assert.equal(all.textContent, "Ver a sessão parada");
  const toggle = node.querySelector("[data-banner-toggle]");
  assert.equal(toggle.getAttribute("aria-expanded"), "true"); // not a phone: open
  renderBanner(node, { conditions: [{ ...alerts.conditions[0], figures: { stuck: 19, threshold: 5 } }] }, translator("en"));
  assert.ok(node.textContent.includes("19 sessions are stuck (alert at 5)."), node.textContent);
  assert.equal(node.querySelector("[data-stuck-list]").textContent, "See all 19 stuck sessions");
  node.setAttribute("data-folded", "true"); // folded (a phone, or the agent's choice)
  renderBanner(node, alerts, translator("en"));
  assert.equal(node.querySelector("[data-banner-toggle]").getAttribute("aria-expanded"), "false");
  assert.equal(node.querySelector("[data-banner-toggle]").textContent, "Show (1)");
  assert.equal(node.querySelector("ul").getAttribute("hidden"), "");
});

test("a live onboarding.started gives the session page its support reference", () => {
  const started = (data) => ({ event_type: "onboarding.started", data });
  assert.equal(referenceOf(started({ reference: "K7Q2M9XP" })), "K7Q2M9XP");
  assert.equal(referenceOf(started({ reference: "k7q2m9xp" })), null); // not the Portal's form
  assert.equal(referenceOf(started({ reference: "K7Q2M9X0" })), null); // 0 is not in the alphabet
  assert.equal(referenceOf(started({})), null);
  assert.equal(referenceOf({ event_type: "dns.applied", data: { reference: "K7Q2M9XP" } }), null);
});

test("ticket page: a refused session's status in words, in both languages", async () => {
  for (const [lang, expected] of [["en", "s5 · Started · refused"], ["pt", "s5 · Iniciada · recusada"]]) {
    const browser = installBrowser("http://desk.test/tickets/5");
    const root = page({ "data-ticket-head": "div", "data-timeline": "div" });
    initTicketPage(root, { ...context(translator(lang)), lang });
    await browser.requests[0].answer({
      ...ticketSummary(5),
      kind: "follow_up",
      stage: "started",
      session_status: "refused",
      timeline: [],
    });
    const [session] = root.querySelectorAll("dd").filter((dd) => dd.querySelector('a[href="/sessions/s5"]'));
    assert.equal(session.textContent, expected);
  }
});
