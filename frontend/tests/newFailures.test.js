// Contact and priority in the views: who to contact as a safe mailto:
// link, failures standing out over completions, and a new failure highlighted in its
// rows and counted in the tab title until seen.

import assert from "node:assert/strict";
import { test } from "node:test";

import { translator } from "../js/i18n.js";
import { HOLD_MS, NewFailures } from "../js/newFailures.js";
import { renderCohort } from "../js/views/cohortList.js";
import { contactLink, contactOf, mailtoHref } from "../js/views/contact.js";
import { renderTickets } from "../js/views/tables.js";
import { FakeElement, context, installBrowser } from "./fakedom.js";

const en = translator("en");
const pt = translator("pt");

/** A document a person may or may not be looking at. */
function fakeDocument(title = "Desk") {
  const doc = {
    title,
    visibilityState: "hidden",
    focused: false,
    body: new FakeElement("body"),
    listeners: {},
    hasFocus() {
      return this.focused;
    },
    addEventListener(name, handler) {
      (this.listeners[name] ||= []).push(handler);
    },
  };
  return doc;
}

const failed = (sessionId) => ({ event_type: "onboarding.failed", session_id: sessionId, data: {} });

function ticketRows(doc, tickets) {
  const node = new FakeElement("div");
  doc.body.append(node);
  renderTickets(node, tickets, { t: en, lang: "en" });
  return node;
}

const ticket = (id, sessionId, tags) => ({
  id,
  session_id: sessionId,
  domain: `${sessionId}.pt`,
  status: "open",
  tags,
  assignee: null,
  updated_at: "2026-11-29T11:59:00.000Z",
});

test("the contact is a mailto: link with the address as text; anything else is no link", () => {
  installBrowser("http://desk.test/");
  assert.equal(mailtoHref("boss.lopes+x@xn--caf-dma.pt"), "mailto:boss.lopes%2Bx@xn--caf-dma.pt");
  for (const bad of ["a@b.pt?cc=c@d.pt", "javascript:alert(1)//@x.pt", "<a@b.pt>", "a@b", "a b@c.pt", 7, null]) {
    assert.equal(mailtoHref(bad), null, String(bad));
  }
  const link = contactLink("admin@loja.pt", en);
  assert.equal(link.tagName, "A");
  assert.equal(link.getAttribute("href"), "mailto:admin@loja.pt");
  assert.equal(link.textContent, "admin@loja.pt");
  const none = contactLink("<img src=x onerror=alert(1)>@x.pt", pt);
  assert.equal(none.tagName, "SPAN");
  assert.equal(none.textContent, "ainda não indicado (é pedido no passo da conta)");
  assert.equal(contactOf({ event_type: "account.created", data: { account: "a@loja.pt" } }), "a@loja.pt");
  assert.equal(contactOf({ event_type: "infra.synced", data: { account: "a@loja.pt" } }), null);
  assert.equal(contactOf({ event_type: "infra.synced", data: { contact: "c@loja.pt" } }), "c@loja.pt");
});

test("drill-down rows show who to contact", () => {
  installBrowser("http://desk.test/funnel/sessions?state=failed");
  const node = new FakeElement("div");
  const item = {
    session_id: "f1",
    domain: "loja.pt",
    stage: "dns_applied",
    state: "failed",
    failed_step: "account_created",
    last_event_type: "onboarding.failed",
    last_event_at: "2026-11-29T11:00:00.000Z",
    failure_code: "carbonio:account.ACCOUNT_EXISTS",
    failure_reason: "taken",
    ticket_id: 3,
    contact: "admin@loja.pt",
  };
  renderCohort(node, [item, { ...item, session_id: "f2", contact: null }], context(en));
  const links = node.querySelectorAll("[data-contact]");
  assert.deepEqual(
    links.map((l) => [l.tagName, l.getAttribute("href"), l.textContent]),
    [
      ["A", "mailto:admin@loja.pt", "admin@loja.pt"],
      ["SPAN", null, "not given yet (asked at the account step)"],
    ],
  );
});

test("a failure tag stands out, a completion tag is informational", () => {
  installBrowser("http://desk.test/tickets");
  const doc = fakeDocument();
  const node = ticketRows(doc, [ticket(1, "s1", ["onboarding_failed"]), ticket(2, "s2", ["ready_for_ops"])]);
  const tag = (name) => node.querySelector(`[data-tag="${name}"]`);
  assert.equal(tag("onboarding_failed").className, "tag tag-failed");
  assert.equal(tag("ready_for_ops").className, "tag tag-ready");
  const rows = node.querySelectorAll("tr[data-ticket-id]");
  assert.deepEqual(rows.map((r) => r.className), ["row-failed", ""]);
});

test("a failure arriving while nobody looks is counted in the title and highlighted until seen", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  installBrowser("http://desk.test/tickets");
  const doc = fakeDocument("Tickets");
  const node = ticketRows(doc, [ticket(1, "s1", []), ticket(2, "s2", [])]);
  const news = new NewFailures({ doc, win: { addEventListener() {} }, t: en });
  news.arrive(failed("s1"));
  news.arrive(failed("s2"));
  news.arrive(failed("s2"));
  news.arrive({ event_type: "onboarding.completed", session_id: "s1" });
  assert.equal(doc.title, "(3) Tickets");
  const marked = () => node.querySelectorAll("tr[data-new-failure]").map((r) => r.getAttribute("data-ticket-id"));
  assert.deepEqual(marked(), ["1", "2"]);
  assert.equal(node.querySelector("[data-new-badge]").textContent, "New failure");
  // The page's own title changes (a view redraws it): the count stays in front.
  doc.title = "#2 s2.pt";
  news.title();
  assert.equal(doc.title, "(3) #2 s2.pt");
  // Still hidden: nothing is seen.
  news.seeAll();
  assert.equal(news.count(), 3);
  // The person comes back: every failure is seen, the title is the page's again; the
  // rows stay highlighted HOLD_MS more so they can be found.
  doc.visibilityState = "visible";
  doc.focused = true;
  news.seeAll();
  assert.equal(doc.title, "#2 s2.pt");
  assert.deepEqual(marked(), ["1", "2"]);
  t.mock.timers.tick(HOLD_MS);
  assert.deepEqual(marked(), []);
  assert.equal(node.querySelectorAll("[data-new-badge]").length, 0);
});

test("a failure arriving while the page is looked at is highlighted, not counted; a row viewed is seen", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  installBrowser("http://desk.test/");
  const doc = fakeDocument("Desk");
  doc.visibilityState = "visible";
  doc.focused = true;
  const node = ticketRows(doc, [ticket(1, "s1", [])]);
  const news = new NewFailures({ doc, win: { addEventListener() {} }, t: pt });
  news.arrive(failed("s1"));
  assert.equal(doc.title, "Desk");
  assert.equal(node.querySelector("[data-new-badge]").textContent, "Nova falha");
  // Visible but another window has the focus (a second screen): counted.
  doc.focused = false;
  news.arrive(failed("s9"));
  assert.equal(doc.title, "(1) Desk");
  news.see("s9"); // its row hovered
  assert.equal(doc.title, "Desk");
  news.see("s1");
  assert.equal(node.querySelectorAll("tr[data-new-failure]").length, 0);
});

test("active sessions: a stuck one shows who to contact, kept and renewed by live events", async () => {
  installBrowser("http://desk.test/");
  const { applyToActive } = await import("../js/viewData.js");
  const { renderActive } = await import("../js/views/tables.js");
  const session = {
    session_id: "s1",
    domain: "loja.pt",
    stage: "account_created",
    last_event_type: "account.created",
    last_event_at: "2026-11-29T11:00:00.000Z",
    started_at: "2026-11-29T10:50:00.000Z",
    state: "stuck",
    contact: "admin@loja.pt",
  };
  const moving = { ...session, session_id: "s2", domain: "outra.pt", state: "moving", contact: "a@outra.pt" };
  const node = new FakeElement("div");
  renderActive(node, [session, moving], null, context(en));
  const contacts = node.querySelectorAll("[data-contact]").map((a) => [a.getAttribute("href"), a.textContent]);
  assert.deepEqual(contacts, [["mailto:admin@loja.pt", "admin@loja.pt"]]); // moving: not shown
  const message = (eventType, data, at) => ({
    id: 9,
    session_id: "s1",
    domain: "loja.pt",
    event_type: eventType,
    occurred_at: at,
    data,
    stage: "infra_synced",
    status: "active",
    ticket_id: 1,
  });
  let active = applyToActive([session], message("infra.synced", {}, "2026-11-29T11:01:00.000Z"));
  assert.equal(active[0].contact, "admin@loja.pt");
  active = applyToActive(active, message("infra.synced", { contact: "boss@loja.pt" }, "2026-11-29T11:02:00.000Z"));
  assert.equal(active[0].contact, "boss@loja.pt");
});
