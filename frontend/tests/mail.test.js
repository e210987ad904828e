// mail.checked in words (timeline) and the dashboard's "mail of completed onboardings"
// card: figures, the not-ready list with what is missing and for how long, as text.

import assert from "node:assert/strict";
import { test } from "node:test";

import { translator } from "../js/i18n.js";
import { mailCheckedSentence, missingItems } from "../js/mailCheck.js";
import { eventSentence } from "../js/views/sentences.js";
import { initMailReady } from "../js/views/mailReady.js";
import { context, installBrowser, page } from "./fakedom.js";

const en = translator("en");
const pt = translator("pt");
const HOSTILE = "<img src=x onerror=alert(1)>";

const M365 = {
  ready: false,
  items: [
    { name: "dkim", status: "pending", code: "dkim_not_created", todo: "team", commands: ["zmdkimkeyutil -a -d loja.pt"] },
    { name: "mx", status: "pending", code: "mx_elsewhere", provider: "Microsoft 365", found: ["loja-pt.mail.protection.outlook.com"] },
    { name: "spf", status: "ok", code: "ok" },
  ],
  changed_from: null,
};

test("mail.checked reads as a sentence in both languages, items in the contract's order", () => {
  assert.deepEqual(missingItems(M365.items).map((i) => i.name), ["mx", "dkim"]);
  const said = eventSentence({ event_type: "mail.checked", data: M365 }, en);
  assert.equal(said.text, "Mail not ready: MX still points to Microsoft 365; DKIM key not created yet (our team)");
  assert.deepEqual(said.facts, [
    "First check of this domain.",
    "For our team: DKIM key not created yet (our team)",
    "Commands: zmdkimkeyutil -a -d loja.pt",
  ]);
  assert.equal(
    mailCheckedSentence(M365, pt).text,
    "Correio ainda não pronto: o MX ainda aponta para Microsoft 365; chave DKIM ainda não criada (a nossa equipa)",
  );
  const ready = { ready: true, items: [], changed_from: { ready: false, items: { mx: "pending" } } };
  assert.deepEqual(mailCheckedSentence(ready, en), {
    text: "Mail ready: MX, SPF, DMARC, DKIM and autodiscover all as planned.",
    facts: ["Changed: it was not ready before."],
  });
  const odd = { ready: false, items: [{ name: "mx", status: "failed", code: "something_new" }] };
  assert.equal(mailCheckedSentence(odd, en).text, "Mail not ready: mx: failed");
  const moved = { ...M365, changed_from: { ready: false, items: {} } };
  assert.equal(mailCheckedSentence(moved, pt).facts[0], "Mudou: antes faltavam outras coisas.");
});

const ANSWER = {
  ok: true,
  hours: 48,
  completed: 5,
  mail_ready: 2,
  mail_not_ready: 2,
  unchecked: 1,
  listed: 2,
  sessions: [
    {
      session_id: "s1",
      domain: HOSTILE,
      ticket_id: 7,
      waiting_seconds: 7200,
      missing: [{ name: "mx", status: "pending", code: "mx_elsewhere", provider: "Microsoft 365" }],
    },
    {
      session_id: "s2",
      domain: "nocf-loja.pt",
      ticket_id: null,
      waiting_seconds: 90,
      missing: [
        { name: "mx", status: "pending", code: "mx_missing" },
        { name: "dkim", status: "pending", code: "dkim_not_created" },
      ],
    },
  ],
};

test("the mail card: figures, one row per session not ready, what is missing and how long", async () => {
  const browser = installBrowser("http://desk.test/?hours=48");
  const root = page({ "data-window": "select", "data-mail-ready": "div" });
  root.querySelector("[data-window]").value = "48";
  initMailReady(root, context(en));
  assert.equal(browser.requests[0].url, "/api/v1/onboard/mail?hours=48");
  await browser.requests[0].answer(ANSWER);
  assert.equal(root.querySelector("[data-mail-summary]").textContent, "2 of 5 with working mail");
  assert.equal(root.querySelector("[data-mail-not-ready]").getAttribute("data-mail-not-ready"), "2");
  const rows = root.querySelectorAll("tr[data-mail-session]");
  assert.deepEqual(rows.map((r) => r.getAttribute("data-mail-session")), ["s1", "s2"]);
  assert.equal(rows[0].children[0].textContent, HOSTILE);
  assert.equal(rows[0].children[1].textContent, "MX still points to Microsoft 365");
  assert.equal(rows[1].children[1].textContent, "no MX recordDKIM key not created yet (our team)");
  assert.equal(rows[0].children[3].textContent, "#7");
});
