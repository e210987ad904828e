// The dashboard's breakdown card: the split as a table with words for every value, in
// both languages; the property chosen by a select and kept in ?by=; live refetch after
// funnel events (at most once a second) and at once on reset; stale answers dropped.

import assert from "node:assert/strict";
import { test } from "node:test";

import { translator } from "../js/i18n.js";
import { dimensionFrom, initBreakdown } from "../js/views/breakdown.js";
import { changed, context, installBrowser, page } from "./fakedom.js";

const STAGES = ["started", "domain_validated", "dns_applied", "account_created", "infra_synced", "completed"];

/** A group's figures: started sessions, how many completed, failed and were refused. */
function figures(started, completed, failed, refused = 0) {
  const stages = Object.fromEntries(STAGES.map((stage) => [stage, stage === "started" ? started : completed]));
  const counted = started - refused;
  return {
    cohort: started,
    stages,
    completed,
    failed,
    refused,
    conversion: { completed: { of_started: counted ? completed / counted : null, of_previous: null } },
  };
}

function answer(by, hours, groups) {
  const sum = (key) => groups.reduce((n, g) => n + g[key], 0);
  const started = groups.reduce((n, g) => n + g.stages.started, 0);
  return {
    ok: true,
    by,
    window_hours: hours,
    since: "2026-11-27T12:00:00.000Z",
    generated_at: "2026-11-29T12:00:00.000Z",
    top: 5,
    total: figures(started, sum("completed"), sum("failed"), sum("refused")),
    groups,
  };
}

const group = (kind, value, values, f) => ({ kind, value, values, ...f });

const BY_PROVIDER = answer("previous_provider", 48, [
  group("value", "microsoft365", 1, figures(4, 1, 3)),
  group("value", "none", 1, figures(3, 3, 0)),
  group("value", "other", 1, figures(1, 0, 1)),
  group("value", "zoho", 1, figures(1, 1, 0)), // a value this Desk has no words for
  group("other", null, 0, figures(0, 0, 0)),
  group("unknown", null, 0, figures(5, 1, 1, 2)),
]);

function dashboard(href) {
  const browser = installBrowser(href);
  const root = page({ "data-window": "select", "data-breakdown-by": "select", "data-breakdown": "div" });
  return { browser, root };
}

function table(root) {
  const rows = root.querySelectorAll("tr[data-group]");
  return rows.map((row) => [row.getAttribute("data-group"), ...row.children.map((cell) => cell.textContent)]);
}

test("dimensionFrom: the four properties, else DNS mode", () => {
  assert.deepEqual(
    ["release", "language", "previous_provider", "dns_mode", "", "x", null].map(dimensionFrom),
    ["release", "language", "previous_provider", "dns_mode", "dns_mode", "dns_mode", "dns_mode"],
  );
});

test("breakdown: a table of the groups in words, empty other left out, the whole last", async () => {
  const { browser, root } = dashboard("http://desk.test/?hours=48&by=previous_provider");
  root.querySelector("[data-window]").value = "48";
  initBreakdown(root, context(translator("en")));
  assert.equal(root.querySelector("[data-breakdown-by]").value, "previous_provider");
  assert.equal(browser.requests[0].url, "/api/v1/onboard/breakdown?by=previous_provider&hours=48");
  await browser.requests[0].answer(BY_PROVIDER);
  assert.equal(
    root.querySelector("caption").textContent,
    "Previous mail provider: sessions started in the last 48 h",
  );
  const heads = root.querySelector("thead").querySelectorAll("th");
  assert.deepEqual(
    heads.map((th) => [th.textContent, th.getAttribute("scope")]),
    [["Group", "col"], ["Started", "col"], ["Completed", "col"], ["Failed", "col"], ["Refused", "col"], ["Conversion", "col"]],
  );
  assert.deepEqual(table(root), [
    ["value:microsoft365", "Microsoft 365", "4", "1", "3", "0", "25 %"],
    ["value:none", "Nothing", "3", "3", "0", "0", "100 %"],
    ["value:other", "Another provider", "1", "0", "1", "0", "0 %"],
    ["value:zoho", "zoho", "1", "1", "0", "0", "100 %"],
    ["unknown", "Not knownmanual DNS (no zone read), the DNS step not reached, or an older Portal", "5", "1", "1", "2", "33 %"],
    ["total", "All sessions", "14", "6", "5", "2", "50 %"],
  ]);
  assert.equal(root.querySelector("tr[data-group=\"total\"]").parent.tagName, "TFOOT");
  assert.ok(root.querySelector("tbody").querySelectorAll("th").every((th) => th.getAttribute("scope") === "row"));
  const region = root.querySelector("[data-breakdown-region]");
  assert.equal(region.getAttribute("role"), "region");
  assert.equal(region.getAttribute("aria-label"), "Which customers fail, as a table");
  // A Tab stop only while the table is wider than the card (a phone), not when it fits.
  assert.equal(region.getAttribute("tabindex"), null);
  Object.assign(region, { scrollWidth: 540, clientWidth: 318 });
  changed(region);
  assert.equal(region.getAttribute("tabindex"), "0");
});

test("breakdown: pt-PT words, the other values counted with their plural, DNS mode by default", async () => {
  const { browser, root } = dashboard("http://desk.test/?by=nonsense");
  root.querySelector("[data-window]").value = "168";
  const ctx = context(translator("pt"));
  ctx.lang = "pt";
  initBreakdown(root, ctx);
  assert.equal(browser.requests[0].url, "/api/v1/onboard/breakdown?by=dns_mode&hours=168");
  await browser.requests[0].answer(
    answer("dns_mode", 168, [
      group("value", "cloudflare", 1, figures(6, 1, 2)),
      group("value", "manual", 1, figures(2, 1, 0)),
      group("other", null, 1, figures(1, 0, 0)),
      group("unknown", null, 0, figures(0, 0, 0)),
    ]),
  );
  assert.equal(root.querySelector("caption").textContent, "Modo de DNS: sessões iniciadas na janela de 7 dias");
  assert.deepEqual(
    root.querySelector("thead").querySelectorAll("th").map((th) => th.textContent),
    ["Grupo", "Iniciadas", "Concluídas", "Falhadas", "Recusadas", "Conversão"],
  );
  assert.deepEqual(table(root), [
    ["value:cloudflare", "Cloudflare", "6", "1", "2", "0", "17 %"],
    ["value:manual", "DNS manual", "2", "1", "0", "0", "50 %"],
    ["other", "Todos os outros (1 valor)", "1", "0", "0", "0", "0 %"],
    ["total", "Todas as sessões", "9", "2", "2", "0", "22 %"],
  ]);
});

test("breakdown: a window without sessions says so; an answer without refused has no such column", async () => {
  const { browser, root } = dashboard("http://desk.test/?by=language");
  root.querySelector("[data-window]").value = "24";
  initBreakdown(root, context(translator("en")));
  await browser.requests[0].answer(answer("language", 24, [group("other", null, 0, figures(0, 0, 0)), group("unknown", null, 0, figures(0, 0, 0))]));
  assert.equal(root.querySelector("[data-breakdown]").textContent, "No sessions started in this window.");
  const old = answer("language", 24, [group("value", "pt", 1, figures(2, 1, 0)), group("value", "en", 1, figures(1, 0, 1))]);
  for (const part of [old.total, ...old.groups]) delete part.refused;
  root.querySelector("[data-breakdown-by]").value = "language";
  for (const handler of root.querySelector("[data-breakdown-by]").listeners.change) handler();
  await browser.requests[1].answer(old);
  assert.deepEqual(root.querySelector("thead").querySelectorAll("th").map((th) => th.textContent), ["Group", "Started", "Completed", "Failed", "Conversion"]);
  assert.deepEqual(table(root), [
    ["value:pt", "Portuguese", "2", "1", "0", "50 %"],
    ["value:en", "English", "1", "0", "1", "0 %"],
    ["total", "All sessions", "3", "1", "1", "33 %"],
  ]);
});

test("breakdown: the select loads the property and keeps it in ?by=; an answer for the one before is not shown", async () => {
  const { browser, root } = dashboard("http://desk.test/?hours=48");
  root.querySelector("[data-window]").value = "48";
  const replaced = [];
  window.history.replaceState = (state, title, url) => replaced.push(String(url));
  initBreakdown(root, context(translator("en")));
  const select = root.querySelector("[data-breakdown-by]");
  assert.equal(select.value, "dns_mode");
  select.value = "release";
  for (const handler of select.listeners.change) handler();
  assert.deepEqual(replaced, ["http://desk.test/?hours=48&by=release"]);
  assert.equal(browser.requests[1].url, "/api/v1/onboard/breakdown?by=release&hours=48");
  await browser.requests[1].answer(
    answer("release", 48, [group("value", "2.0.1+g1a2b3c", 1, figures(2, 2, 0)), group("unknown", null, 0, figures(1, 0, 0))]),
  );
  await browser.requests[0].answer(answer("dns_mode", 48, [group("value", "cloudflare", 1, figures(9, 9, 0))]));
  assert.deepEqual(table(root), [
    ["value:2.0.1+g1a2b3c", "2.0.1+g1a2b3c", "2", "2", "0", "0", "100 %"],
    ["unknown", "Not knownan older Portal", "1", "0", "0", "0", "0 %"],
    ["total", "All sessions", "3", "2", "0", "0", "67 %"],
  ]);
  // The dashboard's window select reloads it for the new window.
  const windowSelect = root.querySelector("[data-window]");
  windowSelect.value = "24";
  for (const handler of windowSelect.listeners.change) handler();
  assert.equal(browser.requests[2].url, "/api/v1/onboard/breakdown?by=release&hours=24");
});

test("breakdown: refetched after funnel events at most once a second, not after mail checks; at once on reset", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { browser, root } = dashboard("http://desk.test/?by=dns_mode");
  root.querySelector("[data-window]").value = "48";
  const ctx = context(translator("en"));
  initBreakdown(root, ctx);
  await browser.requests[0].answer(answer("dns_mode", 48, [group("value", "cloudflare", 1, figures(1, 0, 0))]));
  ctx.live.emit("onboard", { id: 1, event_type: "mail.checked", ticket_id: 1 });
  t.mock.timers.tick(1000);
  assert.equal(browser.requests.length, 1);
  for (const [id, type] of [[2, "onboarding.started"], [3, "dns.applied"], [4, "onboarding.failed"]]) {
    ctx.live.emit("onboard", { id, event_type: type, ticket_id: null });
  }
  t.mock.timers.tick(999);
  assert.equal(browser.requests.length, 1);
  t.mock.timers.tick(1);
  assert.equal(browser.requests.length, 2);
  ctx.live.emit("reset", {});
  assert.equal(browser.requests.length, 3);
  await browser.requests[2].answer(answer("dns_mode", 48, [group("value", "manual", 1, figures(2, 1, 1))]));
  await browser.requests[1].answer(answer("dns_mode", 48, [group("value", "cloudflare", 1, figures(1, 0, 0))]));
  assert.deepEqual(table(root)[0], ["value:manual", "Manual DNS", "2", "1", "1", "0", "50 %"]);
});

const H = (hour) => `2026-11-29T${String(hour).padStart(2, "0")}:00:00.000Z`;
const period = (hour, entered, completed, refused = 0, open = false) => ({
  start: H(hour),
  entered,
  completed,
  failed: 0,
  refused,
  conversion: entered - refused ? Math.round((completed / (entered - refused)) * 10000) / 10000 : null,
  open,
});

test("breakdown trend: each group's conversion per period behind a button, quiet periods and empty groups left out", async () => {
  const browser = installBrowser("http://desk.test/?by=dns_mode");
  const root = page({ "data-window": "select", "data-breakdown-by": "select", "data-breakdown": "div", "data-breakdown-trend": "div" });
  root.querySelector("[data-window]").value = "48";
  const ctx = context(translator("en"));
  initBreakdown(root, ctx);
  assert.deepEqual(browser.requests.map((r) => r.url), [
    "/api/v1/onboard/breakdown?by=dns_mode&hours=48",
    "/api/v1/onboard/breakdown/trend?by=dns_mode&hours=48",
  ]);
  await browser.requests[1].answer({
    ok: true,
    by: "dns_mode",
    window_hours: 48,
    period: "hour",
    generated_at: "2026-11-29T12:30:00.000Z",
    top: 5,
    groups: [
      { kind: "value", value: "cloudflare", values: 1, entered: 5, completed: 3, failed: 0, refused: 0, periods: [period(10, 4, 2), period(11, 0, 0), period(12, 1, 1, 0, true)] },
      { kind: "value", value: "manual", values: 1, entered: 1, completed: 0, failed: 1, refused: 0, periods: [period(10, 1, 0), period(11, 0, 0), period(12, 0, 0, 0, true)] },
      { kind: "other", value: null, values: 0, entered: 0, completed: 0, failed: 0, refused: 0, periods: [period(10, 0, 0), period(11, 0, 0), period(12, 0, 0, 0, true)] },
      { kind: "unknown", value: null, values: 0, entered: 2, completed: 0, failed: 0, refused: 1, periods: [period(10, 2, 0, 1), period(11, 0, 0), period(12, 0, 0, 0, true)] },
    ],
  });
  const node = root.querySelector("[data-breakdown-trend]");
  const toggle = node.querySelector("[data-breakdown-trend-toggle]");
  assert.equal(toggle.textContent, "Show the conversion by period");
  assert.equal(toggle.getAttribute("aria-expanded"), "false");
  assert.equal(node.querySelector("[data-breakdown-trend-region]").getAttribute("hidden"), "");
  assert.equal(node.querySelector("[data-breakdown-trend-region]").getAttribute("tabindex"), null);
  for (const handler of toggle.listeners.click) handler();
  const region = node.querySelector("[data-breakdown-trend-region]");
  assert.equal(region.getAttribute("hidden"), null);
  assert.equal(region.getAttribute("tabindex"), null); // fits: no Tab stop
  Object.assign(region, { scrollWidth: 400, clientWidth: 318 });
  changed(region);
  assert.equal(region.getAttribute("tabindex"), "0"); // scrolls: one
  assert.equal(node.querySelector("[data-breakdown-trend-toggle]").getAttribute("aria-expanded"), "true");
  assert.equal(node.querySelector("[data-breakdown-trend-toggle]").focused, true); // focus kept
  assert.equal(
    node.querySelector("caption").textContent,
    "DNS mode: conversion per hour (UTC), completed of started, refused attempts left out",
  );
  assert.deepEqual(
    node.querySelector("thead").querySelectorAll("th").map((th) => th.textContent),
    ["Period", "Cloudflare", "Manual DNS", "Not known"],
  );
  const rows = node.querySelector("tbody").querySelectorAll("tr");
  assert.deepEqual(
    rows.map((row) => row.children.map((cell) => cell.textContent)),
    [
      ["29/11/2026, 10:00:00 UTC", "50 % (2 of 4)", "0 % (0 of 1)", "0 % (0 of 1)"],
      ["29/11/2026, 12:00:00 UTC (still open)", "100 % (1 of 1)", "–", "–"],
    ],
  );
  // The property select reloads both the table and the trend.
  const select = root.querySelector("[data-breakdown-by]");
  select.value = "language";
  for (const handler of select.listeners.change) handler();
  assert.deepEqual(browser.requests.slice(2).map((r) => r.url), [
    "/api/v1/onboard/breakdown?by=language&hours=48",
    "/api/v1/onboard/breakdown/trend?by=language&hours=48",
  ]);
});

/** Each linked count of the table: [row, state, href, accessible name, text]. */
function countLinks(root) {
  return root.querySelectorAll("a[data-count]").map((a) => [
    a.parent.parent.getAttribute("data-group"),
    a.getAttribute("data-count"),
    a.getAttribute("href"),
    a.getAttribute("aria-label"),
    a.textContent,
  ]);
}

test("breakdown: each count opens its group's sessions", async () => {
  const { browser, root } = dashboard("http://desk.test/?hours=72&by=previous_provider");
  root.querySelector("[data-window]").value = "72";
  initBreakdown(root, context(translator("en")));
  const document = answer("previous_provider", 72, [
    group("value", "other", 1, figures(2, 1, 1)), // the value named other
    group("value", "1.0+x y", 1, figures(1, 0, 1)), // a value needing escapes
    group("other", null, 2, figures(3, 1, 0, 1)),
    group("unknown", null, 0, figures(1, 0, 0)),
  ]);
  await browser.requests[0].answer(document);
  const links = countLinks(root);
  const base = "/funnel/sessions?hours=72";
  assert.deepEqual(links.slice(0, 4), [
    ["value:other", "started", `${base}&state=started&by=previous_provider&value=other`, "2 sessions started, Another provider", "2"],
    ["value:other", "completed", `${base}&state=completed&by=previous_provider&value=other`, "1 completed session, Another provider", "1"],
    ["value:other", "failed", `${base}&state=failed&by=previous_provider&value=other`, "1 failed session, Another provider", "1"],
    ["value:other", "refused", `${base}&state=refused&by=previous_provider&value=other`, "0 refused attempts, Another provider", "0"],
  ]);
  assert.equal(links[6][2], `${base}&state=failed&by=previous_provider&value=1.0%2Bx+y`);
  assert.deepEqual(links[11], [
    "other",
    "refused",
    `${base}&state=refused&by=previous_provider&group=other&top=5`,
    "1 refused attempt, Everything else (2 values)",
    "1",
  ]);
  assert.deepEqual(links[13].slice(2, 4), [`${base}&state=completed&by=previous_provider&group=unknown`, "0 completed sessions, Not known"]);
  // The whole's counts are the funnel's own lists.
  assert.deepEqual(links.slice(16).map((link) => link.slice(2, 4)), [
    [`${base}&state=started`, "7 sessions started, All sessions"],
    [`${base}&state=completed`, "2 completed sessions, All sessions"],
    [`${base}&state=failed`, "2 failed sessions, All sessions"],
    [`${base}&state=refused`, "1 refused attempt, All sessions"],
  ]);
  assert.equal(links.length, 20);
  assert.ok(root.querySelectorAll("a[data-count]").every((a) => a.getAttribute("data-focus-key") !== null));
  // pt-PT names.
  const pt = dashboard("http://desk.test/?hours=72&by=previous_provider");
  pt.root.querySelector("[data-window]").value = "72";
  const ctx = context(translator("pt"));
  ctx.lang = "pt";
  initBreakdown(pt.root, ctx);
  await pt.browser.requests[0].answer(document);
  assert.deepEqual(
    countLinks(pt.root).map((link) => link[3]).filter((_, index) => [0, 1, 2, 11, 19].includes(index)),
    [
      "2 sessões iniciadas, Outro fornecedor",
      "1 sessão concluída, Outro fornecedor",
      "1 sessão falhada, Outro fornecedor",
      "1 tentativa recusada, Todos os outros (2 valores)",
      "1 tentativa recusada, Todas as sessões",
    ],
  );
});
