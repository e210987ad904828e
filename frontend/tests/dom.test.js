// Bidi controls and zero-width characters in text shown by the Desk
// are made visible, so "\u202emoc.knab-emca" cannot display as "acme-bank.com".

import assert from "node:assert/strict";
import { test } from "node:test";

import { visible } from "../js/dom.js";

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
