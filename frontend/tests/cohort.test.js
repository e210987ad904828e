// The funnel card's split of each stage row and the drill-down list it opens.

import assert from "node:assert/strict";
import { test } from "node:test";

import { translator } from "../js/i18n.js";
import { initCohortList } from "../js/views/cohortList.js";
import { renderFunnel } from "../js/views/funnel.js";
import { eventSentence } from "../js/views/sentences.js";
import { FakeElement, context, installBrowser, page } from "./fakedom.js";

const STOPPED = {
  none: { moving: 0, stuck: 0, abandoned: 0, failed: 0, completed: 0 },
  started: { moving: 1, stuck: 2, abandoned: 3, failed: 0, completed: 0 },
  dns_applied: { moving: 0, stuck: 0, abandoned: 0, failed: 4, completed: 0 },
  completed: { moving: 0, stuck: 0, abandoned: 0, failed: 0, completed: 5 },
};

function funnel() {
  return {
    window_hours: 72,
    cohort: 15,
    stages: { started: 15, domain_validated: 9, dns_applied: 9, completed: 5 },
    failed: 4,
    failed_by_step: { dns_applied: 4 },
    conversion: {},
    time_to_convert: {},
    stopped: STOPPED,
  };
}

const links = (node, stage) =>
  node
    .querySelector(`[data-split="${stage}"]`)
    .children.map((a) => [a.getAttribute("href"), a.textContent]);

test("funnel card: each stage row splits its sessions by state, each count a link", () => {
  installBrowser("http://desk.test/");
  const node = new FakeElement("div");
  renderFunnel(node, funnel(), { t: translator("en"), lang: "en" });
  assert.deepEqual(links(node, "started"), [
    ["/funnel/sessions?hours=72&stage=started&state=moving", "1 moving"],
    ["/funnel/sessions?hours=72&stage=started&state=stuck", "2 stuck"],
    ["/funnel/sessions?hours=72&stage=started&state=abandoned", "3 abandoned"],
    ["/funnel/sessions?hours=72&stage=started&state=failed", "0 failed here"],
  ]);
  assert.deepEqual(links(node, "completed"), [
    ["/funnel/sessions?hours=72&stage=completed&state=completed", "5 completed"],
  ]);
  renderFunnel(node, funnel(), { t: translator("pt"), lang: "pt" });
  assert.deepEqual(
    links(node, "dns_applied").map(([, text]) => text),
    ["0 a avançar", "0 paradas", "0 abandonadas", "4 falharam aqui"],
  );
});

function listPage(href, lang = "en") {
  const browser = installBrowser(href);
  const root = page({
    "data-cohort": "div",
    "data-cohort-total": "p",
    "data-cohort-title": "h1",
    "data-cohort-back": "a",
    "data-more": "button",
    "data-cohort-csv": "a",
  });
  const ctx = { ...context(translator(lang)), lang };
  initCohortList(root, ctx);
  return { browser, root, ctx };
}

const HOSTILE = '<img src=x onerror="alert(1)">';

test("drill-down list: the filter's sessions, a hostile reason as text, the ticket link", async () => {
  const { browser, root } = listPage("http://desk.test/funnel/sessions?hours=72&stage=dns_applied&state=failed");
  const [request] = browser.requests;
  assert.equal(
    request.url,
    "/api/v1/onboard/funnel/sessions?hours=72&stage=dns_applied&state=failed&limit=50",
  );
  await request.answer({
    ok: true,
    total: 1,
    next: null,
    items: [
      {
        session_id: "s9",
        domain: "exemplo.pt",
        stage: "domain_validated",
        state: "failed",
        failed_step: "dns_applied",
        last_event_type: "onboarding.failed",
        last_event_at: "2026-11-29T11:00:00.000Z",
        failure_code: "cloudflare:81054",
        failure_reason: HOSTILE,
        ticket_id: 12,
      },
    ],
  });
  assert.equal(root.querySelector("[data-cohort-title]").textContent, "Failed sessions at DNS applied · last 72 h");
  assert.equal(root.querySelector("[data-cohort-total]").textContent, "1 session");
  assert.equal(root.querySelector("[data-cohort-back]").getAttribute("href"), "/?hours=72");
  assert.equal(
    root.querySelector("[data-cohort-csv]").getAttribute("href"),
    "/api/v1/onboard/funnel/sessions.csv?hours=72&stage=dns_applied&state=failed",
  );
  const row = root.querySelector('tr[data-session-id="s9"]');
  assert.equal(row.querySelector("a").getAttribute("href"), "/sessions/s9");
  assert.equal(row.querySelector("[data-code]").textContent, "cloudflare:81054");
  const reason = row.querySelector("[data-reason]");
  assert.equal(reason.textContent, HOSTILE); // text, never markup
  assert.equal(reason.children.length, 0);
  assert.equal(row.querySelector('a[href="/tickets/12"]').textContent, "#12");
  assert.equal(row.children[4].textContent, "1 h");
  assert.equal(root.querySelector("[data-more]").hidden, true);
});

test("drill-down list by failure code: asked of Ops, named in the heading, carried by the CSV link", async () => {
  const code = "carbonio:account.DOMAIN_EXISTS";
  const href = `http://desk.test/funnel/sessions?hours=48&stage=account_created&state=failed&code=${encodeURIComponent(code)}`;
  const { browser, root } = listPage(href);
  const [request] = browser.requests;
  assert.equal(
    request.url,
    "/api/v1/onboard/funnel/sessions?hours=48&stage=account_created&state=failed&code=carbonio%3Aaccount.DOMAIN_EXISTS&limit=50",
  );
  assert.equal(
    root.querySelector("[data-cohort-title]").textContent,
    "Failed sessions at Account created with code carbonio:account.DOMAIN_EXISTS · last 48 h",
  );
  assert.equal(
    root.querySelector("[data-cohort-csv]").getAttribute("href"),
    "/api/v1/onboard/funnel/sessions.csv?hours=48&stage=account_created&state=failed&code=carbonio%3Aaccount.DOMAIN_EXISTS",
  );
  await request.answer({ ok: true, total: 0, next: null, items: [] });
  assert.equal(root.querySelector("[data-cohort-total]").textContent, "0 sessions");
});

test("drill-down list by failure code in pt-PT: a hostile code is text in the heading", () => {
  const code = "<img src=x onerror=alert(1)>";
  const { browser, root } = listPage(
    `http://desk.test/funnel/sessions?state=failed&code=${encodeURIComponent(code)}`,
    "pt",
  );
  const title = root.querySelector("[data-cohort-title]");
  assert.equal(title.textContent, `Sessões falhadas com o código ${code}`);
  assert.equal(title.children.length, 0);
  assert.ok(browser.requests[0].url.includes("code=%3Cimg+src%3Dx+onerror%3Dalert%281%29%3E"));
});

test("drill-down list in pt-PT: a refused filter shows Ops's reason", async () => {
  const { browser, root } = listPage("http://desk.test/funnel/sessions?stage=x&state=stuck", "pt");
  await browser.requests[0].answer({ ok: false, status: 400, error: "stage must be one of started" }, 400);
  assert.equal(
    root.querySelector("[data-cohort]").textContent,
    "Esta lista não existe: stage must be one of started",
  );
  assert.equal(root.querySelector("[data-cohort-title]").textContent, "Sessões paradas em x");
});

test("drill-down list: a steady stream of events cannot starve its live refetch", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { browser, ctx } = listPage("http://desk.test/funnel/sessions?stage=started&state=stuck");
  // An event every half second for four seconds: at least one refetch a second or so.
  for (let ms = 0; ms < 4000; ms += 500) {
    ctx.live.emit("onboard", { id: ms, session_id: "s1", ticket_id: null });
    t.mock.timers.tick(500);
  }
  const refetches = browser.requests.filter((r) => r.url.startsWith("/api/v1/onboard/funnel/sessions?"));
  assert.ok(refetches.length - 1 >= 3, `${refetches.length - 1} refetches in 4 s`);
});

test("funnel card: refused attempts apart, their codes in words, in both languages", () => {
  installBrowser("http://desk.test/");
  const node = new FakeElement("div");
  const refused = {
    ...funnel(),
    refused: 3,
    refused_by_code: { mailbox_provider: 2, "odd:code": 1 },
    stopped: { ...STOPPED, started: { ...STOPPED.started, refused: 3 } },
  };
  renderFunnel(node, refused, { t: translator("en"), lang: "en" });
  const figure = node.querySelector('[data-figure="refused"]');
  assert.equal(figure.textContent, "Refused 3");
  assert.equal(figure.children[0].getAttribute("href"), "/funnel/sessions?hours=72&state=refused");
  assert.deepEqual(links(node, "started").at(-1), [
    "/funnel/sessions?hours=72&stage=started&state=refused",
    "3 refused",
  ]);
  assert.equal(
    node.querySelector("[data-refused-codes]").textContent,
    "Refused attempts never got a domain validated; they are not in conversion. Why: " +
      "public mailbox domain (e.g. gmail.com): 2; other refusal (odd:code): 1",
  );
  renderFunnel(node, { ...refused, refused: 1 }, { t: translator("pt"), lang: "pt" });
  assert.equal(node.querySelector('[data-figure="refused"]').textContent, "Recusada 1");
  assert.equal(links(node, "started").at(-1)[1], "3 recusadas");
  assert.match(
    node.querySelector("[data-refused-codes]").textContent,
    /Porquê: domínio de correio público \(p\. ex\. gmail\.com\): 2; outra recusa \(odd:code\): 1$/,
  );
  // An Ops before refusals: no figure, no split, no line.
  renderFunnel(node, funnel(), { t: translator("en"), lang: "en" });
  assert.equal(node.querySelector('[data-figure="refused"]'), null);
  assert.equal(node.querySelector("[data-refused-codes]"), null);
});

test("a refused attempt's event says why in words, never (rejected)", () => {
  const data = { session_id: "s", domain: "(rejected)", refusal: { code: "domain_invalid" } };
  const event = { event_type: "onboarding.started", data };
  assert.equal(
    eventSentence(event, translator("en")).text,
    "An attempt was refused: not a valid domain name.",
  );
  assert.equal(
    eventSentence(event, translator("pt")).text,
    "Uma tentativa foi recusada: não é um nome de domínio válido.",
  );
  const plain = { event_type: "onboarding.started", data: { domain: "loja.pt" } };
  assert.equal(eventSentence(plain, translator("en")).text, "Onboarding of loja.pt started.");
});

test("drill-down list of a breakdown group: the heading names it in both languages, the CSV carries it", () => {
  const cases = [
    ["?hours=48&state=failed&by=dns_mode&value=cloudflare", "en", "Failed sessions · DNS mode: Cloudflare · last 48 h"],
    ["?hours=48&state=failed&by=dns_mode&value=cloudflare", "pt", "Sessões falhadas · Modo de DNS: Cloudflare · últimas 48 h"],
    ["?hours=24&state=refused&by=language&group=unknown", "en", "Refused attempts · Language: Not known · last 24 h"],
    ["?hours=24&state=completed&by=release&group=other&top=3", "pt", "Sessões concluídas · Versão do Portal: valores fora dos 3 primeiros · últimas 24 h"],
    ["?hours=24&state=completed&by=previous_provider&value=other", "en", "Completed sessions · Previous mail provider: Another provider · last 24 h"],
    ["?state=failed&by=release&value=2.0.1%2Bg1a2", "en", "Failed sessions · Portal release: 2.0.1+g1a2"],
    ["?hours=48&state=started&by=language&value=pt", "pt", "Sessões iniciadas · Idioma: Português · últimas 48 h"],
    ["?hours=48&state=started", "en", "Sessions started · last 48 h"],
  ];
  for (const [query, lang, title] of cases) {
    const { browser, root } = listPage(`http://desk.test/funnel/sessions${query}`, lang);
    assert.equal(root.querySelector("[data-cohort-title]").textContent, title);
    const params = new URLSearchParams(query);
    assert.equal(
      root.querySelector("[data-cohort-csv]").getAttribute("href"),
      `/api/v1/onboard/funnel/sessions.csv?${params}`,
    );
    params.set("limit", "50");
    assert.equal(browser.requests[0].url, `/api/v1/onboard/funnel/sessions?${params}`);
  }
});
