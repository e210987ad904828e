import assert from "node:assert/strict";
import { test } from "node:test";

import { translator } from "../js/i18n.js";
import { describeChanges, parseTags } from "../js/views/ticket.js";

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
