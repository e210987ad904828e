import assert from "node:assert/strict";
import { test } from "node:test";

import { DICTIONARIES, label, pickLanguage, translator } from "../js/i18n.js";

test("European Portuguese for any pt browser, English otherwise", () => {
  assert.equal(pickLanguage(["pt-PT", "en"]), "pt");
  assert.equal(pickLanguage(["pt-BR"]), "pt");
  assert.equal(pickLanguage(["en-GB", "pt-PT"]), "en");
  assert.equal(pickLanguage(["fr-FR", "pt"]), "pt");
  assert.equal(pickLanguage([]), "en");
});

test("both languages have the same keys", () => {
  assert.deepEqual(Object.keys(DICTIONARIES.pt).sort(), Object.keys(DICTIONARIES.en).sort());
});

test("placeholders and fallbacks", () => {
  const pt = translator("pt");
  assert.equal(pt("funnel.cohort", { n: 3 }), "Sessões iniciadas: 3");
  assert.equal(pt("no.such.key"), "no.such.key");
  assert.equal(label(pt, "stage", "dns_applied"), "DNS aplicado");
  assert.equal(label(pt, "stage", null), "sem etapa");
  assert.equal(label(pt, "status", "weird"), "weird");
});
