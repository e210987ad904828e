import assert from "node:assert/strict";
import { test } from "node:test";

import {
  applyToActive,
  failedRows,
  filterEntries,
  funnelRows,
  insertEntry,
  replacesFunnel,
  SnapshotLoads,
  streamUrl,
} from "../js/viewData.js";

const FUNNEL = {
  cohort: 10,
  stages: { started: 10, domain_validated: 8, dns_applied: 5, account_created: 4, infra_synced: 2, completed: 1 },
  failed: 3,
  failed_by_step: { started: 1, domain_validated: 0, dns_applied: 2, account_created: 0, infra_synced: 0, completed: 0 },
  failed_by_furthest_stage: { none: 1, started: 0, domain_validated: 2, dns_applied: 0, account_created: 0, infra_synced: 0, completed: 0 },
  conversion: {
    started: { of_started: 1, of_previous: 1 },
    domain_validated: { of_started: 0.8, of_previous: 0.8 },
    dns_applied: { of_started: 0.5, of_previous: 0.625 },
  },
  time_to_convert: {
    started: { to: "domain_validated", sessions: 8, median_seconds: 60, p90_seconds: 300 },
    dns_applied: { to: "account_created", sessions: 4, median_seconds: null, p90_seconds: null },
  },
};

test("funnel rows: counts, ratios, widths relative to started, medians", () => {
  const rows = funnelRows(FUNNEL);
  assert.deepEqual(rows.map((r) => r.count), [10, 8, 5, 4, 2, 1]);
  assert.deepEqual(rows.map((r) => r.width), [100, 80, 50, 40, 20, 10]);
  assert.equal(rows[2].ofPrevious, 0.625);
  assert.equal(rows[4].ofStarted, null);
  assert.equal(rows[0].medianSeconds, 60);
  assert.equal(rows[1].medianSeconds, null);
});

test("an empty funnel renders zeros, not NaN", () => {
  const rows = funnelRows({ stages: {} });
  assert.ok(rows.every((r) => r.count === 0 && r.width === 0));
});

test("failed rows: by the step that failed, only steps with failures", () => {
  assert.deepEqual(failedRows(FUNNEL), [
    { stage: "started", count: 1 },
    { stage: "dns_applied", count: 2 },
  ]);
});

test("live events update, add and remove active sessions, newest first", () => {
  let active = [
    { session_id: "a", domain: "a.pt", stage: "started", last_event_type: "onboarding.started",
      last_event_at: "2026-11-29T10:00:00.000Z", started_at: "2026-11-29T10:00:00.000Z" },
  ];
  active = applyToActive(active, {
    session_id: "b", domain: "b.pt", stage: "started", status: "active",
    event_type: "onboarding.started", occurred_at: "2026-11-29T11:00:00.000Z",
  });
  assert.deepEqual(active.map((s) => s.session_id), ["b", "a"]);
  // An older, late event moves the stage on but not the last event.
  active = applyToActive(active, {
    session_id: "a", domain: "a.pt", stage: "domain_validated", status: "active",
    event_type: "domain.validated", occurred_at: "2026-11-29T09:00:00.000Z",
  });
  assert.equal(active[1].stage, "domain_validated");
  assert.equal(active[1].last_event_type, "onboarding.started");
  active = applyToActive(active, {
    session_id: "b", domain: "b.pt", stage: "started", status: "failed",
    event_type: "onboarding.failed", occurred_at: "2026-11-29T11:05:00.000Z",
  });
  assert.deepEqual(active.map((s) => s.session_id), ["a"]);
});

test("timeline entries stay ordered and unique", () => {
  let entries = [];
  entries = insertEntry(entries, { kind: "event", id: 2, occurred_at: "2026-11-29T10:02:00Z" });
  entries = insertEntry(entries, { kind: "event", id: 1, occurred_at: "2026-11-29T10:01:00Z" });
  entries = insertEntry(entries, { kind: "note", id: 1, occurred_at: "2026-11-29T10:02:00Z", text: "n" });
  entries = insertEntry(entries, { kind: "event", id: 2, occurred_at: "2026-11-29T10:02:00Z" });
  assert.deepEqual(entries.map((e) => `${e.kind}${e.id}`), ["event1", "event2", "note1"]);
  const typed = [{ kind: "event", id: 1, event_type: "dns.applied" }, { kind: "note", id: 2 }];
  assert.deepEqual(filterEntries(typed, "infra.synced").map((e) => e.kind), ["note"]);
  assert.equal(filterEntries(typed, "").length, 2);
});

test("the stream URL carries the filters and the last id", () => {
  assert.equal(streamUrl({}, null), "/api/v1/stream");
  assert.equal(streamUrl({ hours: 48, session_id: null }, "17"), "/api/v1/stream?hours=48&last_event_id=17");
  assert.equal(streamUrl({ session_id: "a b" }, null), "/api/v1/stream?session_id=a+b");
});

test("snapshot loads: arrivals go to loads in flight; an answer older than one shown is dropped", () => {
  const loads = new SnapshotLoads();
  const first = loads.begin();
  loads.arrive({ id: 1 });
  const second = loads.begin();
  loads.arrive({ id: 2 });
  assert.deepEqual(first.arrived.map((m) => m.id), [1, 2]);
  assert.deepEqual(second.arrived.map((m) => m.id), [2]);
  assert.equal(loads.finish(second), true);
  assert.equal(loads.finish(first), false); // began before the one shown
  loads.arrive({ id: 3 });
  assert.deepEqual(second.arrived.map((m) => m.id), [2]); // finished: collects no more
  const third = loads.begin();
  assert.equal(loads.finish(third), true);
});

test("a funnel replaces the shown one unless it is older in the same window", () => {
  const at = (hours, time) => ({ window_hours: hours, generated_at: `2026-11-29T12:00:${time}.000Z` });
  assert.equal(replacesFunnel(at(24, "01"), null), true);
  assert.equal(replacesFunnel(at(24, "01"), at(24, "02")), false);
  assert.equal(replacesFunnel(at(24, "02"), at(24, "02")), true);
  assert.equal(replacesFunnel(at(24, "03"), at(24, "02")), true);
  assert.equal(replacesFunnel(at(48, "01"), at(24, "02")), true);
  assert.equal(replacesFunnel({ window_hours: 24 }, at(24, "02")), true);
});
