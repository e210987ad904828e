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

test("a count picks its plural form by the language's rules (Intl.PluralRules)", () => {
  const pt = translator("pt");
  const en = translator("en");
  // pt-PT: 1 is singular, 0 is plural (unlike pt-BR).
  assert.equal(pt("cohort.total", { n: 1 }), "1 sessão");
  assert.equal(pt("cohort.total", { n: 0 }), "0 sessões");
  assert.equal(pt("cohort.total", { n: 2 }), "2 sessões");
  assert.equal(pt("cohort.count.stuck", { n: 1 }), "1 parada");
  assert.equal(pt("cohort.count.stuck", { n: 19 }), "19 paradas");
  assert.equal(en("cohort.total", { n: 1 }), "1 session");
  assert.equal(en("cohort.total", { n: 0 }), "0 sessions");
  assert.equal(en("bulk.selected", { n: 1 }), "1 ticket selected");
  // A key without plural forms is used as it is; a text count does not choose.
  assert.equal(pt("funnel.cohort", { n: 1 }), "Sessões iniciadas: 1");
  assert.equal(en("cohort.total", { n: "1" }), "1 sessions");
});

test("every plural form has its base key in both languages", () => {
  for (const dict of [DICTIONARIES.en, DICTIONARIES.pt]) {
    for (const key of Object.keys(dict)) {
      if (key.endsWith(".one")) assert.ok(key.slice(0, -4) in dict, key);
    }
  }
});
