// Internationalised domains as people read them: `xn--` labels (RFC 3492 punycode) in
// their Unicode form wherever the Desk shows a domain, the ASCII form kept when a label
// does not decode or mixes Latin with Cyrillic or Greek letters (a look-alike).

import assert from "node:assert/strict";
import { test } from "node:test";

import { domainText, translator } from "../js/i18n.js";
import { unicodeDomain } from "../js/idn.js";
import { eventSentence } from "../js/views/sentences.js";

const en = translator("en");

test("xn-- labels read in Unicode, the rest as sent", () => {
  assert.equal(unicodeDomain("xn--mnchen-3ya.de"), "münchen.de");
  assert.equal(unicodeDomain("XN--AORES-YRA.pt"), "açores.pt");
  assert.equal(
    unicodeDomain("xn--loja-de-cermica-e-azulejos-do-norte-e5c.example.pt"),
    "loja-de-cerâmica-e-azulejos-do-norte.example.pt",
  );
  assert.equal(unicodeDomain("xn--e1afmkfd.xn--wgv71a119e"), "пример.日本語");
  assert.equal(unicodeDomain("loja.pt"), "loja.pt");
  assert.equal(unicodeDomain("München.de"), "München.de");
  assert.equal(unicodeDomain(""), "");
});

test("a label that does not decode, or a Latin look-alike, stays ASCII", () => {
  assert.equal(unicodeDomain("xn--zz.pt"), "xn--zz.pt");
  assert.equal(unicodeDomain("xn--.pt"), "xn--.pt");
  assert.equal(unicodeDomain("xn--mnchen-3y!.de"), "xn--mnchen-3y!.de");
  assert.equal(unicodeDomain("xn--pypal-4ve.com"), "xn--pypal-4ve.com"); // Cyrillic а in paypal
  assert.equal(unicodeDomain("xn--abc.pt"), "xn--abc.pt"); // decodes to ASCII only: not an A-label
});

test("domainText shows the Unicode form, (rejected) in words", () => {
  assert.equal(domainText(en, "xn--mnchen-3ya.de"), "münchen.de");
  assert.equal(domainText(en, "(rejected)"), "(domain refused at validation)");
  assert.equal(domainText(en, null), "");
});

test("the timeline names an xn-- domain in Unicode with its ASCII form, without domain_unicode", () => {
  const started = (data) => ({ event_type: "onboarding.started", data });
  assert.equal(
    eventSentence(started({ domain: "xn--mnchen-3ya.de" }), en).text,
    "Onboarding of münchen.de (xn--mnchen-3ya.de) started.",
  );
  assert.equal(eventSentence(started({ domain: "loja.pt" }), en).text, "Onboarding of loja.pt started.");
});
