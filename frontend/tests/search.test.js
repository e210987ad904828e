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
  assert.equal(root.querySelector("[data-search-summary]").textContent, "1 encontradas para “Mün&x”");
  const row = root.querySelector('tr[data-session-id="s1"]');
  assert.equal(row.children[0].textContent, "<b>münchen.de</b>");
  assert.equal(row.querySelector("a").getAttribute("href"), "/sessions/s1");
  assert.equal(row.querySelector('a[href="/tickets/4"]').textContent, "#4");
  assert.equal(row.children[2].textContent, "DNS aplicado");
  assert.equal(row.children[6].textContent, "domínio");
});

test("search page: a refused query shows Ops's reason", async () => {
  const browser = installBrowser("http://desk.test/search?q=x");
  const root = page({ "data-search-summary": "p", "data-search-results": "div" });
  const done = initSearchPage(root, context(translator("en")));
  await browser.requests[0].answer({ ok: false, error: "q must be at most 253 characters" }, 400);
  await done;
  assert.equal(root.querySelector("[data-search-results]").textContent, "q must be at most 253 characters");
});
