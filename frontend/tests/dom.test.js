// DOM helpers: bidi controls and zero-width characters in text shown by the Desk are
// made visible, so "\u202emoc.knab-emca" cannot display as "acme-bank.com"; a scroll
// region is a Tab stop only while its content overflows it.

import assert from "node:assert/strict";
import { test } from "node:test";

import { overflows, scrollStopWhileOverflowing, syncScrollStop, visible } from "../js/dom.js";
import { changed, FakeElement, installBrowser } from "./fakedom.js";

test("bidi controls and zero-width characters are shown as their code points", () => {
  assert.equal(visible("\u202emoc.knab-emca"), "[U+202E]moc.knab-emca");
  assert.equal(visible("acme\u200b-bank.com"), "acme[U+200B]-bank.com");
  assert.equal(visible("a\u2066b\u2069c\u200e\u200f\ufeff\u2060\u061c"),
    "a[U+2066]b[U+2069]c[U+200E][U+200F][U+FEFF][U+2060][U+061C]");
});

test("ordinary text, accents and other scripts are left alone", () => {
  for (const text of ["Ana Lopes", "ação.pt", "מזל טוב", "日本語", ""]) {
    assert.equal(visible(text), text);
  }
});

test("a box overflows when its content is wider or taller than it, not when it fits", () => {
  const box = (scrollWidth, clientWidth, scrollHeight, clientHeight) => ({ scrollWidth, clientWidth, scrollHeight, clientHeight });
  assert.equal(overflows(box(540, 318, 200, 200)), true); // a wide table on a phone
  assert.equal(overflows(box(900, 900, 640, 320)), true); // a tall table in a 20rem box
  assert.equal(overflows(box(900, 1100, 200, 200)), false); // fits at 1280 px
  assert.equal(overflows(box(318, 318, 200, 200)), false); // exactly as wide
  assert.equal(overflows(box(0, 0, 0, 0)), false); // hidden or not laid out
});

test("a scroll region is a Tab stop while it overflows, none while it fits, name kept", () => {
  installBrowser("http://desk.test/");
  const region = new FakeElement("div");
  region.setAttribute("role", "region");
  region.setAttribute("aria-label", "Which customers fail, as a table");
  const table = new FakeElement("table");
  region.append(table);
  Object.assign(region, { scrollWidth: 900, clientWidth: 1100 }); // 1280 px: fits
  scrollStopWhileOverflowing(region);
  assert.equal(region.getAttribute("tabindex"), null);

  // The window narrowed to a phone: the region's size changes and the table overflows.
  Object.assign(region, { scrollWidth: 540, clientWidth: 318 });
  assert.equal(changed(region), 1);
  assert.equal(region.getAttribute("tabindex"), "0");

  // A live update made the table narrower inside the same box: the table's own size
  // changes (watched too), and the stop goes.
  region.scrollWidth = 318;
  assert.equal(changed(table), 1);
  assert.equal(region.getAttribute("tabindex"), null);

  // The table replaced by a wider one: the new child is watched from then on.
  const wider = new FakeElement("table");
  region.replaceChildren(wider);
  region.scrollWidth = 700;
  assert.equal(changed(region, "mutation"), 1);
  assert.equal(region.getAttribute("tabindex"), "0");
  assert.equal(changed(table), 0); // the old table is no longer watched
  region.scrollWidth = 300;
  assert.equal(changed(wider), 1);
  assert.equal(region.getAttribute("tabindex"), null);
  assert.equal(region.getAttribute("role"), "region");
  assert.equal(region.getAttribute("aria-label"), "Which customers fail, as a table");

  // Redrawn away (a view replaces its region whole): the watching ends.
  region.isConnected = false;
  region.scrollWidth = 999;
  changed(region);
  assert.equal(region.getAttribute("tabindex"), null);
  assert.equal(changed(region), 0);
  assert.equal(changed(region, "mutation"), 0);
});

test("without ResizeObserver a region is still set once by its size", () => {
  installBrowser("http://desk.test/");
  delete globalThis.ResizeObserver;
  const region = new FakeElement("div");
  Object.assign(region, { scrollWidth: 10, clientWidth: 5 });
  scrollStopWhileOverflowing(region);
  assert.equal(region.getAttribute("tabindex"), "0");
  assert.equal(syncScrollStop(Object.assign(region, { scrollWidth: 5 })), false);
  assert.equal(region.getAttribute("tabindex"), null);
});
