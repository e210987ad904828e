import assert from "node:assert/strict";
import { test } from "node:test";
import { ageSeconds, priority } from "../js/priority.js";

const NOW = Date.parse("2026-11-29T12:00:00.000Z");
const ticket = (fields) => ({
  status: "open",
  queue: "needs_action",
  kind: "onboarding",
  failure_kind: null,
  created_at: "2026-11-29T11:00:00.000Z",
  ...fields,
});

test("a fault needing action is high at any age", () => {
  assert.equal(priority(ticket({ failure_kind: "fault" }), NOW), "high");
});

test("a customer failure, a follow-up or a reopen is normal, high after 24 h", () => {
  assert.equal(priority(ticket({ failure_kind: "customer" }), NOW), "normal");
  assert.equal(priority(ticket({ kind: "follow_up" }), NOW), "normal");
  const old = "2026-11-28T11:59:59.000Z";
  assert.equal(priority(ticket({ failure_kind: "customer", created_at: old }), NOW), "high");
  assert.equal(priority(ticket({ created_at: "2026-11-28T12:00:00.000Z" }), NOW), "normal");
});

test("handovers, work in progress and done work are low", () => {
  assert.equal(priority(ticket({ queue: "handover" }), NOW), "low");
  assert.equal(priority(ticket({ queue: "other" }), NOW), "low");
  assert.equal(priority(ticket({ status: "resolved", failure_kind: "fault" }), NOW), "low");
});

test("age is the time since the ticket opened", () => {
  assert.equal(ageSeconds(ticket({}), NOW), 3600);
  assert.equal(ageSeconds(ticket({ created_at: "x" }), NOW), null);
});
