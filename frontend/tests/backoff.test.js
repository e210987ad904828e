import assert from "node:assert/strict";
import { test } from "node:test";

import { Backoff, fullJitter } from "../js/backoff.js";

test("full jitter stays within the capped exponential", () => {
  const top = () => 0.999999;
  assert.equal(fullJitter(0, { base: 1000, cap: 30000 }, top), 999);
  assert.equal(fullJitter(3, { base: 1000, cap: 30000 }, top), 7999);
  assert.equal(fullJitter(10, { base: 1000, cap: 30000 }, top), 29999);
  assert.equal(fullJitter(1000, { base: 1000, cap: 30000 }, top), 29999);
  assert.equal(fullJitter(5, { base: 1000, cap: 30000 }, () => 0), 0);
});

test("backoff grows per attempt and resets on open", () => {
  const backoff = new Backoff({ base: 100, cap: 1000 }, () => 0.5);
  assert.deepEqual([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()],
    [50, 100, 200, 400, 500]);
  backoff.reset();
  assert.equal(backoff.next(), 50);
});
