import assert from "node:assert/strict";
import { test } from "node:test";

import { Backoff } from "../js/backoff.js";
import { LiveStream } from "../js/live.js";

class FakeSource {
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.listeners = {};
    this.closed = false;
    FakeSource.all.push(this);
  }
  addEventListener(name, fn) {
    (this.listeners[name] ||= []).push(fn);
  }
  close() {
    this.closed = true;
    this.readyState = 2;
  }
  open() {
    this.readyState = 1;
    this.onopen();
  }
  emit(name, data, lastEventId = "") {
    for (const fn of this.listeners[name] || []) fn({ data: JSON.stringify(data), lastEventId });
  }
  fail(readyState) {
    this.readyState = readyState;
    this.onerror();
  }
}

function fakeTimers() {
  const pending = [];
  return {
    pending,
    setTimeout(fn, ms) {
      pending.push({ fn, ms });
      return pending.length;
    },
    clearTimeout() {},
    async runAll() {
      while (pending.length) await pending.shift().fn();
    },
  };
}

function make(extra = {}) {
  FakeSource.all = [];
  const timers = fakeTimers();
  const stream = new LiveStream({
    params: { hours: 48 },
    EventSourceImpl: FakeSource,
    timers,
    backoff: new Backoff({ base: 1000, cap: 8000 }, () => 0.5),
    ...extra,
  });
  const states = [];
  stream.onStatus((s) => states.push(s));
  return { stream, timers, states };
}

test("dispatches events, tracks the last id and shows the state", () => {
  const { stream, states } = make();
  const got = [];
  stream.on("onboard", (data, id) => got.push([data.id, id]));
  stream.start();
  const source = FakeSource.all[0];
  assert.equal(source.url, "/api/v1/stream?hours=48");
  source.open();
  source.emit("onboard", { id: 5 }, "5");
  source.emit("funnel", { cohort: 1 }, "5");
  assert.deepEqual(got, [[5, "5"]]);
  assert.equal(stream.lastEventId, "5");
  assert.deepEqual(states, ["connecting", "live"]);
});

test("while CONNECTING the browser retries by itself: no new EventSource", () => {
  const { stream, timers, states } = make();
  stream.start();
  FakeSource.all[0].open();
  FakeSource.all[0].fail(0);
  assert.equal(FakeSource.all.length, 1);
  assert.equal(timers.pending.length, 0);
  assert.equal(states.at(-1), "reconnecting");
  FakeSource.all[0].open();
  assert.equal(states.at(-1), "live");
});

test("when CLOSED it backs off with jitter, resumes with ?last_event_id=, resets on open", async () => {
  let probes = 0;
  const { stream, timers } = make({ probe: async () => { probes += 1; } });
  stream.start();
  const first = FakeSource.all[0];
  first.open();
  first.emit("onboard", { id: 9 }, "9");
  first.fail(2);
  assert.deepEqual(timers.pending.map((p) => p.ms), [500]);
  await timers.runAll();
  assert.equal(probes, 1);
  const second = FakeSource.all[1];
  assert.equal(second.url, "/api/v1/stream?hours=48&last_event_id=9");
  second.fail(2);
  assert.deepEqual(timers.pending.map((p) => p.ms), [1000]);
  await timers.runAll();
  FakeSource.all[2].open();
  FakeSource.all[2].fail(2);
  assert.deepEqual(timers.pending.map((p) => p.ms), [500]);
});

test("events of a replaced source are ignored; stop closes and stays closed", () => {
  const { stream } = make();
  const got = [];
  stream.on("onboard", (data) => got.push(data.id));
  stream.start();
  const old = FakeSource.all[0];
  stream.setParams({ hours: 24 });
  old.emit("onboard", { id: 1 }, "1");
  assert.ok(old.closed);
  assert.equal(FakeSource.all[1].url, "/api/v1/stream?hours=24");
  FakeSource.all[1].emit("onboard", { id: 2 }, "2");
  assert.deepEqual(got, [2]);
  stream.stop();
  assert.ok(FakeSource.all[1].closed);
});
