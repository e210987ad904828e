// The dashboard's failure-code card: codes per failed step as text, hostile reasons
// included, each count opening its sessions; live refetch on failures and resets.

import assert from "node:assert/strict";
import { test } from "node:test";

import { translator } from "../js/i18n.js";
import { initFailures } from "../js/views/failures.js";
import { context, installBrowser, page } from "./fakedom.js";

const HOSTILE = "<img src=x onerror=alert(1)></script>\u202egnp.exe";

function failures(hours, stages) {
  return {
    ok: true,
    window_hours: hours,
    since: "2026-11-26T12:00:00.000Z",
    generated_at: "2026-11-29T12:00:00.000Z",
    total: 4,
    stages: {
      started: [],
      domain_validated: [],
      dns_applied: [],
      account_created: [],
      infra_synced: [],
      completed: [],
      ...stages,
    },
  };
}

const ANSWER = failures(72, {
  dns_applied: [
    { code: "cloudflare:81054", count: 3, last_seen: "2026-11-29T11:00:00.000Z", example_reason: HOSTILE },
  ],
  account_created: [
    { code: "unspecified", count: 1, last_seen: "2026-11-29T10:00:00.000Z", example_reason: "" },
  ],
});

function dashboard(href) {
  const browser = installBrowser(href);
  const root = page({ "data-window": "select", "data-failures": "div" });
  return { browser, root };
}

test("failure codes: per failed step, the code, count and reason as text, counts open the step's failed sessions", async () => {
  const { browser, root } = dashboard("http://desk.test/?hours=72");
  root.querySelector("[data-window]").value = "72";
  initFailures(root, context(translator("en")));
  assert.equal(browser.requests[0].url, "/api/v1/onboard/failures?hours=72");
  await browser.requests[0].answer(ANSWER);
  const rows = root.querySelectorAll("tr[data-failure-code]");
  assert.deepEqual(
    rows.map((row) => row.getAttribute("data-failure-code")),
    ["cloudflare:81054", "unspecified"],
  );
  const [dns, account] = rows;
  assert.equal(dns.getAttribute("data-step"), "dns_applied");
  assert.equal(dns.children[0].textContent, "DNS records");
  assert.equal(dns.children[1].textContent, "cloudflare:81054");
  // Each count opens its code's sessions (the step's failed sessions whose last failure had it).
  assert.equal(
    dns.querySelector("a").getAttribute("href"),
    "/funnel/sessions?hours=72&stage=dns_applied&state=failed&code=cloudflare%3A81054",
  );
  assert.equal(
    account.querySelector("a").getAttribute("href"),
    "/funnel/sessions?hours=72&stage=account_created&state=failed&code=unspecified",
  );
  assert.equal(dns.querySelector("a").textContent, "3");
  // The reason is text, its right-to-left override shown as its code point.
  assert.equal(dns.querySelector("[data-reason]").textContent, "<img src=x onerror=alert(1)></script>[U+202E]gnp.exe");
  assert.equal(account.querySelector("[data-reason]").textContent, "no reason given");
});

test("failure codes: a code with URL syntax in it comes back whole from its link", async () => {
  const { browser, root } = dashboard("http://desk.test/?hours=24");
  root.querySelector("[data-window]").value = "24";
  initFailures(root, context(translator("en")));
  const code = "portal:<svg onload=alert(3)>&state=stuck#x?y=1 +%";
  await browser.requests[0].answer(
    failures(24, { started: [{ code, count: 2, last_seen: "2026-11-29T11:00:00.000Z", example_reason: "x" }] }),
  );
  const [row] = root.querySelectorAll("tr[data-failure-code]");
  const href = row.querySelector("a").getAttribute("href");
  const query = new URLSearchParams(href.slice(href.indexOf("?") + 1));
  assert.deepEqual([...query], [["hours", "24"], ["stage", "started"], ["state", "failed"], ["code", code]]);
  assert.equal(row.children[1].textContent, code);
});

test("failure codes: pt-PT, and a window without failures says so", async () => {
  const { browser, root } = dashboard("http://desk.test/");
  root.querySelector("[data-window]").value = "48";
  initFailures(root, context(translator("pt")));
  assert.equal(browser.requests[0].url, "/api/v1/onboard/failures?hours=48");
  await browser.requests[0].answer({ ...failures(48, {}), total: 0 });
  assert.equal(root.querySelector("[data-failures]").textContent, "Nenhuma falha nesta janela.");
});

test("failure codes: refetched after failures (at most once a second) and at once on reset; other events and stale answers ignored; the window select reloads", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { browser, root } = dashboard("http://desk.test/?hours=72");
  const select = root.querySelector("[data-window]");
  select.value = "72";
  const ctx = context(translator("en"));
  initFailures(root, ctx);
  await browser.requests[0].answer(failures(72, {}));
  ctx.live.emit("onboard", { id: 1, event_type: "dns.applied", ticket_id: null });
  t.mock.timers.tick(1000);
  assert.equal(browser.requests.length, 1);
  ctx.live.emit("onboard", { id: 2, event_type: "onboarding.failed", ticket_id: 1 });
  ctx.live.emit("onboard", { id: 3, event_type: "onboarding.failed", ticket_id: 2 });
  t.mock.timers.tick(1000);
  assert.equal(browser.requests.length, 2);
  ctx.live.emit("reset", {});
  assert.equal(browser.requests.length, 3);
  await browser.requests[2].answer(ANSWER);
  await browser.requests[1].answer(failures(72, {})); // begun earlier: dropped
  assert.equal(root.querySelectorAll("tr[data-failure-code]").length, 2);
  select.value = "24";
  for (const handler of select.listeners.change) handler();
  assert.equal(browser.requests[3].url, "/api/v1/onboard/failures?hours=24");
});

test("failure codes: a load that failed is retried when the stream is live again", async () => {
  const { browser, root } = dashboard("http://desk.test/");
  root.querySelector("[data-window]").value = "48";
  const ctx = context(translator("en"));
  initFailures(root, ctx);
  await browser.requests[0].answer({ ok: false, error: "gone" }, 503);
  assert.equal(root.querySelector("[data-failures]").textContent, "Could not load the data; retrying when the connection is back.");
  ctx.live.setState("live");
  assert.equal(browser.requests.length, 2);
  await browser.requests[1].answer({ ...ANSWER, window_hours: 48 });
  assert.equal(root.querySelectorAll("tr[data-failure-code]").length, 2);
});
