// The readable timeline: each event type as a sentence with its key facts in English and
// pt-PT, the raw data behind a "details" toggle as pretty-printed text, and consecutive
// identical failures collapsed into one entry with a count, also as they arrive live.

import assert from "node:assert/strict";
import { test } from "node:test";

import { translator } from "../js/i18n.js";
import { initSessionPage } from "../js/views/session.js";
import { renderTimeline } from "../js/views/timeline.js";
import { FakeElement, context, installBrowser, page } from "./fakedom.js";

const en = translator("en");
const pt = translator("pt");
const HOSTILE = "<img src=x onerror=alert(1)> \u202eevil";

function event(id, eventType, data, at = null) {
  return {
    kind: "event",
    id,
    event_type: eventType,
    occurred_at: at || `2026-11-29T11:59:${String(id).padStart(2, "0")}.000Z`,
    data: { session_id: "s1", domain: "loja.pt", ...data },
  };
}

const failure = (id, reason = "domain already exists", code = "carbonio:account.DOMAIN_EXISTS") =>
  event(id, "onboarding.failed", { stage: "account_created", code, reason });

const DNS_DATA = {
  mode: "cloudflare",
  provider: "cloudflare",
  zone: "loja.pt",
  zone_id: "z1",
  created: [
    { type: "MX", name: "loja.pt", content: "mail.example.net", priority: 10 },
    { type: "CNAME", name: "autodiscover.loja.pt", content: "mail.example.net" },
  ],
  merged: [
    { type: "TXT", name: "loja.pt", content: "v=spf1 include:x mx ~all", previous: "v=spf1 include:x ~all" },
  ],
  replaced: [],
  kept: [
    {
      type: "TXT",
      name: "_dmarc.loja.pt",
      content: "v=DMARC1; p=quarantine",
      reason: "dmarc_other_policy",
      existing: [{ type: "TXT", name: "_dmarc.loja.pt", content: "v=DMARC1; p=none" }],
    },
  ],
  present: [],
  dkim: { status: "pending", operations: ["zmdkimkeyutil -a -d loja.pt"] },
};

/** Render entries into a fresh node; the list items. */
function render(entries, t = en, lang = "en", node = new FakeElement("div")) {
  renderTimeline(node, entries, { t, lang });
  return { node, items: node.querySelectorAll("li[data-kind]") };
}

const sentence = (li) => li.querySelector("[data-sentence]").textContent;
const facts = (li) => li.querySelectorAll("[data-fact]").map((f) => f.textContent);

test("dns.applied reads as a sentence: records created, merged, kept, with their names", () => {
  installBrowser("http://desk.test/sessions/s1");
  const [li] = render([event(1, "dns.applied", DNS_DATA)]).items;
  assert.equal(
    sentence(li),
    "DNS records applied in the Cloudflare zone loja.pt: 2 created, 1 merged, 0 replaced, 1 kept unchanged, 0 already there.",
  );
  assert.deepEqual(facts(li), [
    "Created: MX loja.pt mail.example.net (priority 10); CNAME autodiscover.loja.pt mail.example.net",
    "Merged: TXT loja.pt v=spf1 include:x mx ~all (was v=spf1 include:x ~all)",
    "Kept unchanged: TXT _dmarc.loja.pt v=DMARC1; p=quarantine (another DMARC policy is published; in the zone: TXT _dmarc.loja.pt v=DMARC1; p=none)",
    "DKIM pending, to do: zmdkimkeyutil -a -d loja.pt",
  ]);
  const [ptLi] = render([event(1, "dns.applied", DNS_DATA)], pt, "pt").items;
  assert.equal(
    sentence(ptLi),
    "Registos DNS aplicados na zona Cloudflare loja.pt: 2 criados, 1 fundido, 0 substituídos, 1 mantido sem alteração, 0 já existentes.",
  );
  assert.equal(facts(ptLi)[0].split(":")[0], "Criados");
});

test("onboarding.failed says the step, the code and the reason; account.created the address", () => {
  installBrowser("http://desk.test/sessions/s1");
  const { items } = render([
    failure(1, HOSTILE),
    event(2, "account.created", { account: "admin@loja.pt", display_name: "Ana" }),
    event(3, "onboarding.failed", {}),
  ]);
  assert.equal(
    sentence(items[0]),
    "Failed at Account creation: carbonio:account.DOMAIN_EXISTS — <img src=x onerror=alert(1)> [U+202E]evil",
  );
  assert.equal(sentence(items[1]), "Account admin@loja.pt created for Ana.");
  assert.equal(sentence(items[2]), "Failed at an unknown step: no code — no reason given");
  const { items: ptItems } = render([failure(1, "boom")], pt, "pt");
  assert.equal(
    sentence(ptItems[0]),
    "Falhou em Criação da conta: carbonio:account.DOMAIN_EXISTS — boom",
  );
  // Headings are the event type in the page's language.
  assert.equal(items[1].querySelector("strong").textContent, "Account created");
});

test("account.created without an account says so without a placeholder, in both languages", () => {
  installBrowser("http://desk.test/sessions/s1");
  const bare = [event(1, "account.created", {}), event(2, "account.created", { display_name: "Ana" })];
  const { items } = render(bare);
  assert.equal(sentence(items[0]), "An account was created.");
  assert.equal(sentence(items[1]), "An account was created for Ana.");
  const { items: ptItems } = render(bare, pt, "pt");
  assert.equal(sentence(ptItems[0]), "Foi criada uma conta.");
  assert.equal(sentence(ptItems[1]), "Foi criada uma conta para Ana.");
  // A blank account is as good as none; the facts still come.
  const blank = render([event(3, "account.created", { account: "  ", domain_created: true })]).items[0];
  assert.equal(sentence(blank), "An account was created.");
  assert.equal(facts(blank)[0], "The domain was created in Carbonio.");
});

test("infra.synced says its plan and quota, and only what it was given", () => {
  installBrowser("http://desk.test/sessions/s1");
  const synced = [
    event(1, "infra.synced", { plan: "base", mailbox_quota_mb: 5120 }),
    event(2, "infra.synced", { plan: "base" }),
    event(3, "infra.synced", { mailbox_quota_mb: 5120 }),
    event(4, "infra.synced", {}),
  ];
  assert.deepEqual(render(synced).items.map(sentence), [
    "Infrastructure record synced: plan base, mailbox quota 5120 MB.",
    "Infrastructure record synced: plan base.",
    "Infrastructure record synced: mailbox quota 5120 MB.",
    "Infrastructure record synced.",
  ]);
  assert.deepEqual(render(synced, pt, "pt").items.map(sentence), [
    "Registo de infraestrutura sincronizado: plano base, quota da caixa 5120 MB.",
    "Registo de infraestrutura sincronizado: plano base.",
    "Registo de infraestrutura sincronizado: quota da caixa 5120 MB.",
    "Registo de infraestrutura sincronizado.",
  ]);
});

test("the raw data is behind a details toggle, pretty-printed as text", () => {
  installBrowser("http://desk.test/sessions/s1");
  const [li] = render([failure(1, HOSTILE)]).items;
  const details = li.querySelector("details");
  assert.ok(details, "a <details> element");
  assert.equal(details.querySelector("summary").textContent, "Details");
  const pre = details.querySelector("pre");
  assert.equal(
    pre.textContent,
    JSON.stringify(failure(1, HOSTILE).data, null, 2).replace("\u202e", "[U+202E]"),
  );
  assert.equal(pre.children.length, 0, "text, no elements");
  assert.equal(li.querySelectorAll("img").length, 0);
});

test("consecutive identical failures collapse into one entry with a count", () => {
  installBrowser("http://desk.test/sessions/s1");
  const { items } = render([
    event(1, "dns.applied", DNS_DATA),
    failure(2),
    failure(3),
    failure(4),
    failure(5, "timeout", "portal:timeout"),
    failure(6),
  ]);
  assert.equal(items.length, 4);
  assert.equal(items[1].getAttribute("data-count"), "3");
  assert.equal(items[1].querySelector("[data-repeat]").textContent, "×3");
  assert.equal(items[1].getAttribute("data-entry-ids"), "2 3 4");
  assert.equal(items[2].getAttribute("data-count"), null);
  assert.equal(items[3].getAttribute("data-count"), null);
  // pt-PT says how many times to a screen reader as well.
  const ptItems = render([failure(2), failure(3)], pt, "pt").items;
  assert.equal(ptItems.length, 1);
  const [only] = ptItems;
  assert.equal(only.querySelector("[data-repeat]").getAttribute("aria-label"), "2 vezes");
});

test("a details toggle left open stays open when the timeline is drawn again", () => {
  installBrowser("http://desk.test/sessions/s1");
  const node = new FakeElement("div");
  render([failure(1), failure(2)], en, "en", node);
  const details = node.querySelector("details");
  details.open = true;
  for (const handler of details.listeners.toggle || []) handler();
  render([failure(1), failure(2), failure(3)], en, "en", node);
  const again = node.querySelector("details");
  assert.equal(again.open, true);
  assert.equal(node.querySelector("li[data-kind]").getAttribute("data-count"), "3");
});

test("session page: failures arriving live keep collapsing into the same entry", async () => {
  const browser = installBrowser("http://desk.test/sessions/s1");
  const root = page({ "data-session-head": "div", "data-timeline": "div", "data-event-filter": "select" });
  const ctx = context(en);
  initSessionPage(root, ctx);
  await browser.requests[0].answer({
    domain: "loja.pt",
    stage: "dns_applied",
    status: "failed",
    events: [event(1, "dns.applied", DNS_DATA), failure(2)],
  });
  const live = (id) => ({
    ...failure(id),
    session_id: "s1",
    domain: "loja.pt",
    stage: "dns_applied",
    status: "failed",
    ticket_id: null,
  });
  ctx.live.emit("onboard", live(3));
  ctx.live.emit("onboard", live(4));
  const items = root.querySelector("[data-timeline]").querySelectorAll("li[data-kind]");
  assert.equal(items.length, 2);
  assert.equal(items[1].querySelector("[data-repeat]").textContent, "×3");
  ctx.live.emit("onboard", { ...live(5), data: { ...live(5).data, reason: "other" } });
  assert.equal(root.querySelector("[data-timeline]").querySelectorAll("li[data-kind]").length, 3);
});
