// Layout in the views: the server's session states (stuck first), the funnel card's
// stuck total and changes against the previous window, dates that say their time zone,
// tags and event types in the page's language, a session page's ticket link, and a 404
// that shows one message instead of empty cards.

import assert from "node:assert/strict";
import { test } from "node:test";

import { formatChange, formatDateTime } from "../js/format.js";
import { translator } from "../js/i18n.js";
import * as viewData from "../js/viewData.js";
import { renderFunnel } from "../js/views/funnel.js";
import { initSessionPage } from "../js/views/session.js";
import { renderActive, tagList } from "../js/views/tables.js";
import { initTicketPage } from "../js/views/ticket.js";
import { FakeElement, context, installBrowser, page } from "./fakedom.js";

const en = translator("en");
const pt = translator("pt");
const NOW = Date.parse("2026-11-29T12:00:00Z");

function active(sessionId, stateName, minutesAgo) {
  const at = new Date(NOW - minutesAgo * 60_000).toISOString();
  return {
    session_id: sessionId,
    domain: `${sessionId}.pt`,
    stage: "dns_applied",
    last_event_type: "dns.applied",
    last_event_at: at,
    started_at: at,
    state: stateName,
  };
}

const rows = (node) => node.querySelectorAll("tr[data-session-id]");

test("active sessions: the badge is the server's state, stuck ones first, no browser rule", () => {
  installBrowser("http://desk.test/");
  assert.equal(viewData.isStuck, undefined); // the old fixed 10-minute rule is gone
  const node = new FakeElement("div");
  const sessions = [
    active("m1", "moving", 2),
    active("s1", "stuck", 40),
    active("a1", "abandoned", 1600),
    // idle 3 h but the server says moving (its step's p90 is longer): no badge of ours
    active("m2", "moving", 180),
    active("s2", "stuck", 90),
  ];
  renderActive(node, sessions, null, { t: en, lang: "en", now: () => NOW });
  assert.deepEqual(
    rows(node).map((tr) => tr.getAttribute("data-session-id")),
    ["s1", "s2", "m1", "m2", "a1"],
  );
  const badges = rows(node).map((tr) => {
    const badge = tr.querySelector("[data-state]");
    return [badge.getAttribute("data-state"), badge.textContent];
  });
  assert.deepEqual(badges, [
    ["stuck", "stuck"],
    ["stuck", "stuck"],
    ["moving", "moving"],
    ["moving", "moving"],
    ["abandoned", "abandoned"],
  ]);
  assert.equal(rows(node)[0].className, "stuck");
  // The event type in the page's language, not its key.
  renderActive(node, sessions, null, { t: pt, lang: "pt", now: () => NOW });
  assert.equal(rows(node)[0].querySelectorAll("td")[2].textContent, "DNS aplicado");
  assert.equal(rows(node)[0].querySelector("[data-state]").textContent, "parada");
});

test("active sessions: a live event makes its session moving again until the next funnel", () => {
  const stuck = active("s1", "stuck", 40);
  const next = viewData.applyToActive([stuck], {
    id: 9,
    session_id: "s1",
    domain: "s1.pt",
    event_type: "account.created",
    occurred_at: new Date(NOW).toISOString(),
    stage: "account_created",
    status: "active",
  });
  assert.equal(next[0].state, "moving");
  // An older event (a late delivery) does not change what the server said.
  const late = viewData.applyToActive([stuck], {
    id: 10,
    session_id: "s1",
    domain: "s1.pt",
    event_type: "domain.validated",
    occurred_at: new Date(NOW - 3_600_000).toISOString(),
    stage: "dns_applied",
    status: "active",
  });
  assert.equal(late[0].state, "stuck");
});

const STOPPED = {
  none: { moving: 0, stuck: 0, abandoned: 0, failed: 0, completed: 0 },
  started: { moving: 1, stuck: 2, abandoned: 0, failed: 0, completed: 0 },
  dns_applied: { moving: 0, stuck: 1, abandoned: 3, failed: 4, completed: 0 },
  completed: { moving: 0, stuck: 0, abandoned: 0, failed: 0, completed: 5 },
};

function funnelWithPrevious() {
  return {
    window_hours: 24,
    cohort: 120,
    stages: { started: 120, domain_validated: 90, completed: 49 },
    failed: 10,
    failed_by_step: { dns_applied: 4 },
    conversion: { completed: { of_started: 0.4083, of_previous: 0.9 } },
    time_to_convert: {},
    stopped: STOPPED,
    previous: {
      since: "2026-11-27T12:00:00.000Z",
      until: "2026-11-28T12:00:00.000Z",
      cohort: 108,
      stages: { started: 108, domain_validated: 90, completed: 47 },
      failed: 13,
      conversion: { completed: { of_started: 0.4352, of_previous: 0.9 } },
    },
  };
}

test("funnel card: stuck total and each figure's change against the previous window", () => {
  installBrowser("http://desk.test/");
  const node = new FakeElement("div");
  renderFunnel(node, funnelWithPrevious(), { t: en, lang: "en" });
  assert.equal(node.querySelector("[data-stuck-total]").textContent, "Stuck now: 3");
  const figure = (name) => node.querySelector(`[data-figure="${name}"]`).textContent;
  assert.equal(figure("started"), "Started 120 (+12 vs 108 in the previous 24 h)");
  assert.equal(figure("completed"), "Completed 49 (+2 vs 47 in the previous 24 h)");
  assert.equal(figure("failed"), "Failed sessions 10 (−3 vs 13 in the previous 24 h)");
  assert.equal(figure("conversion"), "Conversion 41 % (−2.7 pts vs 44 % in the previous 24 h)");
  const change = (stage) =>
    node.querySelector(`[data-stage="${stage}"]`).querySelector("[data-change]").textContent;
  assert.equal(change("started"), "+12");
  assert.equal(change("domain_validated"), "±0");
  assert.equal(change("dns_applied"), "±0");

  renderFunnel(node, funnelWithPrevious(), { t: pt, lang: "pt" });
  assert.equal(figure("conversion"), "Conversão 41 % (−2,7 p.p. face a 44 % nas 24 h anteriores)");
  assert.equal(node.querySelector("[data-stuck-total]").textContent, "Paradas agora: 3");

  // A funnel without the previous window (an older Ops): figures without a change.
  const older = { ...funnelWithPrevious(), previous: undefined };
  renderFunnel(node, older, { t: en, lang: "en" });
  assert.equal(figure("started"), "Started 120");
  assert.equal(node.querySelector(`[data-stage="started"]`).querySelector("[data-change]"), null);
});

test("changes: signs, zero, decimals in the page's notation", () => {
  assert.equal(formatChange(12, "en"), "+12");
  assert.equal(formatChange(-3, "en"), "−3");
  assert.equal(formatChange(0, "en"), "±0");
  assert.equal(formatChange(-2.7, "pt"), "−2,7");
  assert.equal(formatChange(null, "en"), "");
});

test("dates say their time zone: UTC, in both languages", () => {
  assert.equal(formatDateTime("2026-11-29T14:03:05.120Z", "en"), "29/11/2026, 14:03:05 UTC");
  assert.equal(formatDateTime("2026-06-01T23:30:00Z", "pt"), "01/06/2026, 23:30:00 UTC");
});

test("tags are labelled in the page's language and keep their key", () => {
  installBrowser("http://desk.test/");
  const list = tagList(["onboarding_failed", "ready_for_ops", "custom_tag"], pt);
  assert.deepEqual(
    list.children.map((tag) => [tag.getAttribute("data-tag"), tag.textContent]),
    [
      ["onboarding_failed", "adesão falhada"],
      ["ready_for_ops", "pronta para Ops"],
      ["custom_tag", "custom_tag"],
    ],
  );
  assert.equal(tagList(["dns_manual"], en).children[0].textContent, "DNS left to the customer");
});

test("session page: links to its ticket, event types labelled in the filter", async () => {
  const browser = installBrowser("http://desk.test/sessions/s1");
  const root = page({ "data-session-head": "section", "data-timeline": "div", "data-event-filter": "select" });
  const ctx = context(en);
  initSessionPage(root, ctx);
  const filter = root.querySelector("[data-event-filter]");
  assert.deepEqual(
    filter.children.slice(0, 3).map((o) => [o.getAttribute("value"), o.textContent]),
    [
      ["", "All event types"],
      ["onboarding.started", "Onboarding started"],
      ["domain.validated", "Domain validated"],
    ],
  );
  await browser.requests[0].answer({
    session_id: "s1",
    domain: "s1.pt",
    stage: "started",
    status: "failed",
    ticket_id: 7,
    events: [],
  });
  const link = root.querySelector("[data-ticket-link]");
  assert.equal(link.getAttribute("href"), "/tickets/7");
  assert.equal(link.textContent, "Ticket #7");
});

test("session page: a session with no ticket yet gets the link when one opens live", async () => {
  const browser = installBrowser("http://desk.test/sessions/s2");
  const root = page({ "data-session-head": "section", "data-timeline": "div", "data-event-filter": "select" });
  const ctx = context(en);
  initSessionPage(root, ctx);
  await browser.requests[0].answer({
    session_id: "s2",
    domain: "s2.pt",
    stage: "started",
    status: "active",
    ticket_id: null,
    events: [],
  });
  assert.equal(root.querySelector("[data-ticket-link]"), null);
  ctx.live.emit("onboard", {
    id: 4,
    session_id: "s2",
    domain: "s2.pt",
    event_type: "onboarding.failed",
    occurred_at: "2026-11-29T11:59:00.000Z",
    data: {},
    stage: "started",
    status: "failed",
    ticket_id: 3,
  });
  assert.equal(root.querySelector("[data-ticket-link]").getAttribute("href"), "/tickets/3");
});

for (const [kind, path, init, parts, message] of [
  ["session", "/sessions/nope", initSessionPage,
    { "data-session-head": "section", "data-timeline": "div", "data-event-filter": "select" },
    "This session does not exist."],
  ["ticket", "/tickets/999", initTicketPage,
    { "data-ticket-head": "section", "data-timeline": "div" },
    "This ticket does not exist."],
]) {
  test(`${kind} page 404: one card with the message, no empty cards`, async () => {
    const browser = installBrowser(`http://desk.test${path}`);
    const root = page(parts);
    initCard(root);
    const ctx = context(en);
    init(root, ctx);
    await browser.requests[0].answer({ ok: false, error: "not found", status: 404 }, 404);
    const cards = root.querySelectorAll("section");
    assert.equal(cards.length, 1);
    assert.equal(cards[0].querySelector("[data-not-found]").textContent, message);
    assert.equal(cards[0].querySelector("a").getAttribute("href"), "/");
  });
}

/** The page's other cards (the timeline's, the work card) as the HTML has them. */
function initCard(root) {
  const other = new FakeElement("section");
  other.setAttribute("class", "card");
  root.append(other);
}
