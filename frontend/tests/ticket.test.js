import assert from "node:assert/strict";
import { test } from "node:test";

import { translator } from "../js/i18n.js";
import { KNOWN_TAGS } from "../js/views/tables.js";
import { chosenTags, describeChanges, parseTags, splitTags } from "../js/views/ticket.js";
import { renderTimeline } from "../js/views/timeline.js";
import { FakeElement, installBrowser } from "./fakedom.js";

const en = translator("en");

test("tags typed with commas or spaces become a sorted set", () => {
  assert.deepEqual(parseTags(" vip, dns  vip,,billing "), ["billing", "dns", "vip"]);
  assert.deepEqual(parseTags(""), []);
});

test("a conflict says what someone else changed", () => {
  const seen = { status: "open", assignee: null, tags: ["a"] };
  const now = { status: "pending", assignee: "rui", tags: ["a"] };
  assert.equal(describeChanges(seen, now, en), "Status open → pending; Assignee nobody → rui");
  assert.equal(describeChanges(seen, seen, en), "–");
  const pt = translator("pt");
  assert.equal(describeChanges(seen, { ...seen, tags: [] }, pt), "Etiquetas a → –");
});

test("a conflict names tags by their labels, unknown ones as typed", () => {
  const seen = { status: "open", assignee: null, tags: ["mail_pending", "ready_for_ops"] };
  const now = { ...seen, tags: ["mail_ready", "ready_for_ops", "vip"] };
  assert.equal(
    describeChanges(seen, now, en),
    "Tags mail not ready, ready for Ops → mail ready, ready for Ops, vip",
  );
  assert.equal(
    describeChanges(seen, now, translator("pt")),
    "Etiquetas correio não pronto, pronta para Ops → correio pronto, pronta para Ops, vip",
  );
});

test("the tags control: known tags as labelled choices, the others as typed text", () => {
  assert.deepEqual(splitTags(["dkim_pending", "follow_up", "vip", "ready_for_ops", "x-1"]), {
    known: ["dkim_pending", "follow_up", "ready_for_ops"],
    other: ["vip", "x-1"],
  });
  // What the form sends: the ticked keys and the typed ones, sorted, without repeats.
  assert.deepEqual(chosenTags(["ready_for_ops", "mail_ready"], "vip, ready_for_ops  b"), [
    "b",
    "mail_ready",
    "ready_for_ops",
    "vip",
  ]);
  assert.deepEqual(chosenTags([], ""), []);
  // Every known tag has a label in both languages (no key on screen).
  for (const lang of ["en", "pt"]) {
    const t = translator(lang);
    for (const tag of KNOWN_TAGS) assert.notEqual(t(`tag.${tag}`), `tag.${tag}`, `${lang} ${tag}`);
  }
  assert.equal(translator("en")("tag.follow_up"), "follow-up");
  assert.equal(translator("pt")("tag.follow_up"), "acompanhamento");
});

test("the timeline's tag changes read as labels", () => {
  installBrowser("http://desk.test/tickets/1");
  const change = {
    kind: "activity",
    id: 1,
    type: "tags",
    occurred_at: "2026-11-29T12:00:00.000Z",
    actor: { kind: "account", name: "ana" },
    version: 2,
    added: ["mail_ready", "vip"],
    removed: ["mail_pending"],
  };
  const heading = (t, lang) => {
    const node = new FakeElement("div");
    renderTimeline(node, [change], { t, lang });
    return node.querySelector("li[data-kind]").querySelector("strong").textContent;
  };
  assert.equal(heading(en, "en"), "ana: tags +mail ready +vip −mail not ready");
  assert.equal(heading(translator("pt"), "pt"), "ana: etiquetas +correio pronto +vip −correio não pronto");
});
