// The search results page: rows as text, links to the session and the ticket, pt-PT.

import assert from "node:assert/strict";
import { test } from "node:test";

import { translator } from "../js/i18n.js";
import { initSearchPage } from "../js/views/search.js";
import { context, installBrowser, page } from "./fakedom.js";

test("search page: the query is sent encoded, results shown as text with their links", async () => {
  const browser = installBrowser("http://desk.test/search?q=M%C3%BCn%26x");
  const root = page({ "data-search-summary": "p", "data-search-results": "div" });
  const ctx = { ...context(translator("pt")), lang: "pt" };
  const done = initSearchPage(root, ctx);
  const [request] = browser.requests;
  assert.equal(request.url, "/api/v1/desk/search?q=M%C3%BCn%26x");
  await request.answer({
    ok: true,
    q: "Mün&x",
    items: [
      {
        session_id: "s1",
        domain: "<b>münchen.de</b>",
        stage: "dns_applied",
        status: "failed",
        last_event_at: "2026-11-29T11:00:00.000Z",
        ticket_id: 4,
        matched: "domain",
      },
    ],
  });
  await done;
  assert.equal(root.querySelector("[data-search-summary]").textContent, "1 encontrada para “Mün&x”");
  const row = root.querySelector('tr[data-session-id="s1"]');
  assert.equal(row.children[0].textContent, "<b>münchen.de</b>");
  assert.equal(row.querySelector("a").getAttribute("href"), "/sessions/s1");
  assert.equal(row.querySelector('a[href="/tickets/4"]').textContent, "#4");
  assert.equal(row.children[2].textContent, "DNS aplicado");
  assert.equal(row.children[6].textContent, "domínio");
});

test("search page: a session found by its support reference says so, in both languages", async () => {
  for (const [lang, expected] of [["en", "support reference"], ["pt", "referência para o suporte"]]) {
    const browser = installBrowser("http://desk.test/search?q=k7q2-m9xp");
    const root = page({ "data-search-summary": "p", "data-search-results": "div" });
    const done = initSearchPage(root, { ...context(translator(lang)), lang });
    await browser.requests[0].answer({
      ok: true,
      q: "k7q2-m9xp",
      items: [{ ...found("ref"), matched: "reference" }],
    });
    await done;
    const row = root.querySelector('tr[data-session-id="ref"]');
    assert.equal(row.children[6].textContent, expected);
  }
});

test("search page: a refused session's status is said in words, in both languages", async () => {
  for (const [lang, expected] of [["en", "refused"], ["pt", "recusada"]]) {
    const browser = installBrowser("http://desk.test/search?q=ref");
    const root = page({ "data-search-summary": "p", "data-search-results": "div" });
    const done = initSearchPage(root, { ...context(translator(lang)), lang });
    await browser.requests[0].answer({
      ok: true,
      q: "ref",
      items: [{ ...found("ref"), domain: "(rejected)", status: "refused", matched: "session_id" }],
    });
    await done;
    const row = root.querySelector('tr[data-session-id="ref"]');
    assert.equal(row.children[3].textContent, expected);
  }
});

test("search page: a refused query shows Ops's reason", async () => {
  const browser = installBrowser("http://desk.test/search?q=x");
  const root = page({ "data-search-summary": "p", "data-search-results": "div" });
  const done = initSearchPage(root, context(translator("en")));
  await browser.requests[0].answer({ ok: false, error: "q must be at most 253 characters" }, 400);
  await done;
  assert.equal(root.querySelector("[data-search-results]").textContent, "q must be at most 253 characters");
});

/** A search result row as Ops sends it. */
function found(sessionId, stage = "started") {
  return {
    session_id: sessionId,
    domain: `${sessionId}.pt`,
    stage,
    status: "active",
    last_event_at: "2026-11-29T11:00:00.000Z",
    ticket_id: null,
    matched: "domain",
  };
}

function shownIds(root) {
  return root.querySelectorAll("tr[data-session-id]").map((tr) => tr.getAttribute("data-session-id"));
}

test("search page: the CSV link carries the query", async () => {
  const browser = installBrowser("http://desk.test/search?q=M%C3%BCn%26x");
  const root = page({ "data-search-summary": "p", "data-search-results": "div", "data-search-csv": "a" });
  const done = initSearchPage(root, context(translator("en")));
  assert.equal(root.querySelector("[data-search-csv]").getAttribute("href"), "/api/v1/desk/search.csv?q=M%C3%BCn%26x");
  await browser.requests[0].answer({ ok: true, q: "Mün&x", items: [] });
  await done;
});

test("search page: live, refetched at most once a second after events; a reset refetches at once; stale answers dropped", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const browser = installBrowser("http://desk.test/search?q=s");
  const root = page({ "data-search-summary": "p", "data-search-results": "div" });
  const ctx = context(translator("en"));
  const done = initSearchPage(root, ctx);
  await browser.requests[0].answer({ ok: true, q: "s", items: [found("s1")] });
  await done;
  assert.deepEqual(shownIds(root), ["s1"]);
  // A burst of events: one refetch, a second after the first of them.
  for (const id of [1, 2, 3]) ctx.live.emit("onboard", { id, session_id: "s2", ticket_id: null });
  t.mock.timers.tick(999);
  assert.equal(browser.requests.length, 1);
  t.mock.timers.tick(1);
  assert.equal(browser.requests.length, 2);
  assert.equal(browser.requests[1].url, "/api/v1/desk/search?q=s");
  // Events that keep coming do not starve the refetch: the next one is a second later.
  ctx.live.emit("onboard", { id: 4, session_id: "s2", ticket_id: null });
  t.mock.timers.tick(500);
  ctx.live.emit("onboard", { id: 5, session_id: "s2", ticket_id: null });
  t.mock.timers.tick(500);
  assert.equal(browser.requests.length, 3);
  await browser.requests[1].answer({ ok: true, q: "s", items: [found("s1"), found("s2")] });
  assert.deepEqual(shownIds(root), ["s1", "s2"]);
  assert.equal(root.querySelector("[data-search-summary]").textContent, "2 found for “s”");
  // After a gap the stream says reset: refetch at once.
  ctx.live.emit("reset", {});
  assert.equal(browser.requests.length, 4);
  await browser.requests[3].answer({ ok: true, q: "s", items: [found("s1"), found("s2"), found("s3")] });
  assert.deepEqual(shownIds(root), ["s1", "s2", "s3"]);
  // The refetch begun before the reset's lands last: older, dropped.
  await browser.requests[2].answer({ ok: true, q: "s", items: [found("s1")] });
  assert.deepEqual(shownIds(root), ["s1", "s2", "s3"]);
});

test("search page: a load that failed (the connection cut) is retried when the stream is live again", async () => {
  const browser = installBrowser("http://desk.test/search?q=s");
  const root = page({ "data-search-summary": "p", "data-search-results": "div" });
  const ctx = context(translator("en"));
  const done = initSearchPage(root, ctx);
  ctx.live.setState("live");
  assert.equal(browser.requests.length, 1); // nothing failed yet: no extra load
  await browser.requests[0].answer({ ok: false, error: "upstream gone" }, 502);
  await done;
  assert.equal(
    root.querySelector("[data-search-results]").textContent,
    "Could not load the data; retrying when the connection is back.",
  );
  ctx.live.setState("reconnecting");
  assert.equal(browser.requests.length, 1);
  ctx.live.setState("live");
  assert.equal(browser.requests.length, 2);
  await browser.requests[1].answer({ ok: true, q: "s", items: [found("s1")] });
  assert.deepEqual(shownIds(root), ["s1"]);
  ctx.live.setState("reconnecting");
  ctx.live.setState("live");
  assert.equal(browser.requests.length, 2); // shown fine: the stream's replay keeps it current
});
