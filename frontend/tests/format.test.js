import assert from "node:assert/strict";
import { test } from "node:test";

import { formatDuration, formatPercent, secondsSince, summariseData } from "../js/format.js";

test("percentages", () => {
  assert.equal(formatPercent(null), "–");
  assert.equal(formatPercent(1), "100 %");
  assert.equal(formatPercent(0.5), "50 %");
  assert.equal(formatPercent(0.0425), "4.3 %");
  assert.equal(formatPercent(0), "0 %");
});

test("durations", () => {
  assert.equal(formatDuration(null), "–");
  assert.equal(formatDuration(45), "45 s");
  assert.equal(formatDuration(12 * 60 + 5), "12 min");
  assert.equal(formatDuration(3 * 3600 + 5 * 60), "3 h 5 min");
  assert.equal(formatDuration(7200), "2 h");
  assert.equal(formatDuration(2 * 86400 + 4 * 3600), "2 d 4 h");
});

test("seconds since an RFC 3339 time", () => {
  const now = Date.parse("2026-11-29T12:00:00Z");
  assert.equal(secondsSince("2026-11-29T11:59:00.000Z", now), 60);
  assert.equal(secondsSince("2026-11-29T12:01:00Z", now), 0);
  assert.equal(secondsSince("nonsense", now), null);
});

test("event data becomes one line of plain text, markup untouched", () => {
  const text = summariseData({ session_id: "s", domain: "<img src=x onerror=alert(1)>", n: 2 });
  assert.equal(text, "domain=<img src=x onerror=alert(1)> · n=2");
  assert.equal(summariseData({ long: "x".repeat(500) }, 20).length, 20);
  assert.equal(summariseData(undefined), "");
});
