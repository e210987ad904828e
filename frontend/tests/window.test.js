// The dashboard honours any window the funnel API accepts (?hours=72), and only those.

import assert from "node:assert/strict";
import { test } from "node:test";

import { translator } from "../js/i18n.js";
import { initDashboard, windowFrom } from "../js/views/dashboard.js";
import { context, installBrowser, page } from "./fakedom.js";

test("windowFrom: 1-720 as the API takes them, else null", () => {
  assert.deepEqual(
    ["72", "1", "720", "721", "0", "072", "-5", "7.5", "", "abc", null].map(windowFrom),
    ["72", "1", "720", null, null, null, null, null, null, null, null],
  );
});

test("dashboard at ?hours=72 asks for 72 h and shows it in the window select", () => {
  const browser = installBrowser("http://desk.test/?hours=72");
  const root = page({
    "data-funnel": "div",
    "data-active": "div",
    "data-recent-tickets": "div",
    "data-window": "select",
  });
  root.querySelector("[data-window]").value = "48";
  const ctx = context(translator("en"));
  initDashboard(root, ctx);
  assert.equal(browser.requests[0].url, "/api/v1/onboard/funnel?hours=72");
  const select = root.querySelector("[data-window]");
  assert.equal(select.value, "72");
  const added = select.children.at(-1);
  assert.equal(added.getAttribute("value"), "72");
  assert.equal(added.textContent, "72 h");
  assert.deepEqual(ctx.live.params, { hours: "72" });
});

test("dashboard at ?hours=721 keeps its default window", () => {
  const browser = installBrowser("http://desk.test/?hours=721");
  const root = page({
    "data-funnel": "div",
    "data-active": "div",
    "data-recent-tickets": "div",
    "data-window": "select",
  });
  root.querySelector("[data-window]").value = "48";
  initDashboard(root, context(translator("en")));
  assert.equal(browser.requests[0].url, "/api/v1/onboard/funnel?hours=48");
});
