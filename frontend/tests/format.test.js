import assert from "node:assert/strict";
import { test } from "node:test";

import { formatDuration, formatPercent, secondsSince, summariseData } from "../js/format.js";

test("percentages", () => {
  assert.equal(formatPercent(null), "–");
  assert.equal(formatPercent(1), "100 %");
  assert.equal(formatPercent(0.5), "50 %");
  assert.equal(formatPercent(0.0425), "4.3 %");
  assert.equal(formatPercent(0.05), "5.0 %");
  assert.equal(formatPercent(0), "0 %");
  assert.equal(formatPercent(0.0425, "pt"), "4,3 %");
  assert.equal(formatPercent(0.8, "pt"), "80 %");
});

// time_to_convert medians as the funnel API sends them: seconds, millisecond precision.
const DURATIONS = [
  [null, "–", "–"],
  [undefined, "–", "–"],
  [Number.NaN, "–", "–"],
  [0, "0 ms", "0 ms"],
  [0.004, "4 ms", "4 ms"],
  [0.35, "350 ms", "350 ms"],
  [0.9994, "999 ms", "999 ms"],
  [0.9996, "1 s", "1 s"],
  [1.25, "1.3 s", "1,3 s"],
  [45, "45 s", "45 s"],
  [59.7, "59.7 s", "59,7 s"],
  [59.96, "1 min", "1 min"],
  [90, "1 min 30 s", "1 min 30 s"],
  [12 * 60 + 5.4, "12 min 5 s", "12 min 5 s"],
  [3599.6, "1 h", "1 h"],
  [5400, "1 h 30 min", "1 h 30 min"],
  [7200, "2 h", "2 h"],
  [2 * 86400 + 4 * 3600, "2 d 4 h", "2 d 4 h"],
  [-0.2, "0 ms", "0 ms"],
];

for (const [seconds, en, pt] of DURATIONS) {
  test(`duration ${seconds} s is "${en}", in pt-PT "${pt}"`, () => {
    assert.equal(formatDuration(seconds), en);
    assert.equal(formatDuration(seconds, "en"), en);
    assert.equal(formatDuration(seconds, "pt"), pt);
  });
}

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
