// Conversion over time: the chart's bars with their hover text and the table behind it.

import assert from "node:assert/strict";
import { test } from "node:test";

import { translator } from "../js/i18n.js";
import { initDashboard } from "../js/views/dashboard.js";
import { renderTrend } from "../js/views/trend.js";
import { FakeElement, context, installBrowser, page } from "./fakedom.js";

const TREND = {
  window_hours: 72,
  period: "hour",
  periods: [
    { start: "2026-11-29T10:00:00.000Z", entered: 4, completed: 1, failed: 2, conversion: 0.25, open: false },
    { start: "2026-11-29T11:00:00.000Z", entered: 2, completed: 0, failed: 0, conversion: 0, open: true },
  ],
};

test("trend: a bar per period on a labelled axis, dates, the conversion line, and the table", () => {
  installBrowser("http://desk.test/");
  const node = new FakeElement("div");
  renderTrend(node, TREND, { t: translator("en"), lang: "en" });
  const bars = node.querySelectorAll("g").filter((g) => (g.getAttribute("class") || "").startsWith("trend-bar"));
  assert.deepEqual(bars.map((g) => g.getAttribute("class")), ["trend-bar", "trend-bar open"]);
  // The count axis tops at 5 (4 rounded up to 1-2-5): 154 px of plot, so 4 -> 123.2 px.
  assert.deepEqual(
    bars.map((g) => g.children.slice(1).map((r) => Number(r.getAttribute("height")).toFixed(1))),
    [["123.2", "30.8"], ["61.6", "0.0"]],
  );
  const ticks = node.querySelectorAll("text").map((x) => x.textContent);
  assert.deepEqual(ticks.slice(0, 5), ["0", "0 %", "50 %", "5", "100 %"]);
  assert.deepEqual(ticks.slice(5), ["29/11 10h", "29/11 11h"]);
  assert.equal(node.querySelectorAll("polyline").length, 1);
  assert.match(bars[0].children[0].textContent, /: 4 started, 1 completed, 2 failed, conversion 25 %$/);
  assert.match(bars[1].children[0].textContent, /\(still open\)$/);
  assert.equal(node.querySelector("svg").getAttribute("aria-hidden"), "true");
  assert.equal(node.querySelector("[data-trend-toggle]").getAttribute("aria-expanded"), "false");
  const rows = node.querySelector("[data-trend-table]").querySelectorAll("tr[data-start]");
  assert.deepEqual(
    rows.map((row) => row.children.slice(1).map((cell) => cell.textContent)),
    [["4", "1", "2", "25 %", ""], ["2", "0", "0", "0 %", "still open"]],
  );
  renderTrend(node, { ...TREND, period: "day" }, { t: translator("pt"), lang: "pt" });
  assert.match(node.children[0].textContent, /^Sessões iniciadas por dia/);
  const ptBars = node.querySelectorAll("g").filter((g) => (g.getAttribute("class") || "").startsWith("trend-bar"));
  assert.match(ptBars[1].children[0].textContent, /\(ainda em aberto\)$/);
});

test("trend: a small day stays visible beside a big one, and the scale is 1-2-5", async () => {
  const { barHeight, niceTop, axisLabel, MIN_BAR } = await import("../js/views/trend.js");
  assert.equal(barHeight(1, 1000, 154), MIN_BAR);
  assert.equal(barHeight(0, 1000, 154), 0);
  assert.deepEqual([0, 1, 3, 7, 12, 20, 45, 101].map(niceTop), [1, 1, 5, 10, 20, 20, 50, 200]);
  assert.equal(axisLabel("2026-11-29T00:00:00.000Z", "day"), "29/11");
});

test("dashboard: the trend of the chosen window is fetched and drawn", async () => {
  const browser = installBrowser("http://desk.test/?hours=72");
  const root = page({
    "data-funnel": "div",
    "data-active": "div",
    "data-recent-tickets": "div",
    "data-window": "select",
    "data-trend": "div",
    "data-trend-csv": "a",
  });
  initDashboard(root, context(translator("en")));
  const trend = browser.requests.find((r) => r.url.startsWith("/api/v1/onboard/trend"));
  assert.equal(trend.url, "/api/v1/onboard/trend?hours=72");
  assert.equal(root.querySelector("[data-trend-csv]").getAttribute("href"), "/api/v1/onboard/trend.csv?hours=72");
  await trend.answer(TREND);
  const bars = root.querySelector("[data-trend]").querySelectorAll("g").filter((g) => (g.getAttribute("class") || "").startsWith("trend-bar"));
  assert.equal(bars.length, 2);
});

test("dashboard: a steady stream of events cannot starve the trend's refetch", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const browser = installBrowser("http://desk.test/?hours=24");
  const root = page({
    "data-funnel": "div",
    "data-active": "div",
    "data-recent-tickets": "div",
    "data-window": "select",
    "data-trend": "div",
  });
  const ctx = context(translator("en"));
  initDashboard(root, ctx);
  // An event every half second for six seconds: the trend is refetched every 2 s or so.
  for (let ms = 0; ms < 6000; ms += 500) {
    ctx.live.emit("onboard", { id: ms + 1, session_id: "s1", event_type: "onboarding.started", ticket_id: null });
    t.mock.timers.tick(500);
  }
  const trends = browser.requests.filter((r) => r.url.startsWith("/api/v1/onboard/trend?"));
  assert.ok(trends.length - 1 >= 2, `${trends.length - 1} refetches in 6 s`);
});

test("trend table: refused attempts in their own column, after the conversion", () => {
  installBrowser("http://desk.test/");
  const node = new FakeElement("div");
  const periods = TREND.periods.map((p, i) => ({ ...p, refused: i === 0 ? 2 : 0 }));
  renderTrend(node, { ...TREND, periods }, { t: translator("pt"), lang: "pt" });
  const table = node.querySelector("[data-trend-table]");
  const heads = table.querySelectorAll("th[scope=col]").map((th) => th.textContent);
  assert.equal(heads[5], "Recusadas (fora da conversão)");
  const rows = table.querySelectorAll("tr[data-start]");
  assert.deepEqual(
    rows.map((row) => row.children.slice(1).map((cell) => cell.textContent)),
    [["4", "1", "2", "25 %", "2", ""], ["2", "0", "0", "0 %", "0", "ainda em aberto"]],
  );
});
