// The onboarding wizard: three steps, inline errors, the session id kept for this tab.

import { ApiError, post } from "./api.js";
import { $, el, replaceChildren } from "./dom.js";
import { t, translatePage } from "./i18n.js";
import { showMail, tm, translateMailTexts } from "./mail.js";
import { manualList, planList, replaceChoices } from "./plan.js";

const SESSION_KEY = "vm112.session_id";
const STATE_KEY = "vm112.wizard";
const STEPS = ["domain", "dns", "account", "done"];

/** @returns {string} this tab's session id (created on first use) */
function sessionId() {
  let id = sessionStorage.getItem(SESSION_KEY);
  if (!id || !/^[A-Za-z0-9_-]{1,128}$/.test(id)) {
    id = crypto.randomUUID();
    sessionStorage.setItem(SESSION_KEY, id);
  }
  return id;
}

/** @returns {{step: string, domain: string, manual: Record<string, unknown>[]}} */
function loadState() {
  try {
    const state = JSON.parse(sessionStorage.getItem(STATE_KEY) || "{}");
    return {
      step: STEPS.includes(state.step) ? state.step : "domain",
      domain: typeof state.domain === "string" ? state.domain : "",
      manual: Array.isArray(state.manual) ? state.manual : [],
    };
  } catch {
    return { step: "domain", domain: "", manual: [] };
  }
}

let state = loadState();

/** @param {{step?: string, domain?: string, manual?: Record<string, unknown>[]}} change */
function setState(change) {
  const moved = change.step !== undefined && change.step !== state.step;
  state = { ...state, ...change };
  sessionStorage.setItem(STATE_KEY, JSON.stringify(state));
  render();
  if (moved) {
    // Focus follows the wizard: the new step's heading, not the field just used.
    const heading = document.querySelector(`[data-step="${state.step}"] h2`);
    if (heading instanceof HTMLElement) heading.focus();
  }
}

function render() {
  $("[data-session-id]").textContent = sessionId();
  $("[data-domain-suffix]").textContent = state.domain ? `@${state.domain}` : "";
  const current = STEPS.indexOf(state.step);
  for (const section of document.querySelectorAll("[data-step]")) {
    const index = STEPS.indexOf(section.dataset.step);
    section.hidden = index > current || (state.step === "done" && index < current);
  }
  for (const marker of document.querySelectorAll("[data-step-marker]")) {
    const index = STEPS.indexOf(marker.dataset.stepMarker);
    marker.dataset.state = index < current ? "done" : index === current ? "current" : "todo";
    if (index === current) marker.setAttribute("aria-current", "step");
    else marker.removeAttribute("aria-current");
  }
}

/**
 * Show an error under a form (as text).
 * @param {string} name
 * @param {unknown} error
 */
function showError(name, error) {
  let message = t("network_error");
  if (error instanceof ApiError && error.status) {
    // A short message in the page's language and the session as the support reference;
    // the technical reason went to Ops in the event, never to the customer.
    const fallback = error.status >= 400 && error.status < 500 ? "invalid_input" : "generic";
    const key = `error_${error.code || fallback}`;
    message = `${t(key) === key ? t("error_generic") : t(key)} ${t("support_ref", { ref: sessionId() })}`;
  }
  $(`[data-error="${name}"]`).textContent = message;
}

/**
 * Run a form's action with its button disabled and its error cleared.
 * @param {HTMLFormElement} form
 * @param {() => Promise<void>} action
 */
async function busy(form, action) {
  const button = form.querySelector("button[type=submit]");
  const name = form.dataset.form;
  $(`[data-error="${name}"]`).textContent = "";
  if (button) button.disabled = true;
  try {
    await action();
  } catch (error) {
    showError(name, error);
  } finally {
    if (button) button.disabled = false;
  }
}

/**
 * The trimmed value of a required field; shows an error and returns null when empty.
 * @param {HTMLFormElement} form
 * @param {string} field
 * @returns {string | null}
 */
function required(form, field) {
  const input = /** @type {HTMLInputElement} */ (form.elements.namedItem(field));
  const value = field === "password" ? input.value : input.value.trim();
  if (!value) {
    $(`[data-error="${form.dataset.form}"]`).textContent = t("required");
    input.focus();
    return null;
  }
  return value;
}

/** @param {HTMLFormElement} form */
async function submitDomain(form) {
  const domain = required(form, "domain");
  if (domain === null) return;
  await busy(form, async () => {
    const result = await post("/api/v1/onboarding/validate-domain", {
      session_id: sessionId(),
      domain,
    });
    $('[data-result="domain"]').textContent = t("domain_ok", { domain: String(result.domain_unicode) });
    setState({ step: "dns", domain: String(result.domain) });
    await loadPlan();
  });
}

/** Read the zone and show, in plain words, what publishing will do (changes nothing). */
async function loadPlan() {
  const node = $("[data-plan]");
  node.replaceChildren(el("p", t("plan_loading")));
  try {
    const plan = await post("/api/v1/onboarding/dns/cloudflare/plan", {
      session_id: sessionId(),
      domain: state.domain,
    });
    // What this mode means, said before anything happens (mail.js holds the texts).
    const manualMode = plan.mode === "manual";
    $("[data-dns-intro]").textContent = tm(manualMode ? "dns_manual_intro" : "dns_cloudflare_intro");
    $('form[data-form="dns"] button[type=submit]').textContent = manualMode
      ? tm("dns_manual_button")
      : t("apply_dns");
    if (plan.mode === "manual") {
      const records = /** @type {Record<string, unknown>[]} */ (plan.records);
      node.replaceChildren(el("p", t("manual_title")), manualList(records, plan.manual_reason));
    } else {
      const steps = /** @type {Record<string, any>[]} */ (plan.plan);
      node.replaceChildren(el("h3", t("plan_title")), planList(steps));
    }
  } catch (error) {
    node.replaceChildren();
    showError("dns", error);
  }
}

/** @param {HTMLFormElement} form */
async function submitDns(form) {
  await busy(form, async () => {
    const result = await post("/api/v1/onboarding/dns/cloudflare/apply", {
      session_id: sessionId(),
      domain: state.domain,
      replace: replaceChoices($("[data-plan]")),
    });
    /** @param {string} key */
    const list = (key) => /** @type {Record<string, unknown>[]} */ (result[key] || []);
    const changed = list("created").length + list("merged").length + list("replaced").length;
    let message = t("dns_no_zone", { domain: state.domain });
    if (result.zone_found) {
      message = changed
        ? t("dns_applied", { count: changed, zone: String(result.zone) })
        : t("dns_nothing", { zone: String(result.zone) });
    }
    const line = $('[data-result="dns"]');
    line.textContent = message;
    line.classList.toggle("warning", !result.zone_found); // not done yet: the customer's turn
    showRecords(
      result.zone_found
        ? [
            [list("created"), "state_applied"],
            [list("merged"), "state_merged"],
            [list("replaced"), "state_replaced"],
            [list("kept"), "state_kept"],
            [list("present"), "state_skipped"],
            [list("held"), "state_held"], // issue 23: the MX, written by the account step
          ]
        : [[list("records"), "state_manual"]],
    );
    setState({ step: "account", manual: result.zone_found ? [] : list("records") });
  });
}

/**
 * Fill the records table (text nodes only).
 * @param {[Record<string, unknown>[], string][]} groups records and the label of their state
 */
function showRecords(groups) {
  const table = $("[data-records]");
  const rows = [];
  for (const [records, label] of groups) {
    for (const record of records) {
      const row = el("tr");
      row.append(
        el("td", String(record.type)),
        el("td", String(record.name)),
        el("td", String(record.content)),
        el("td", t(label)),
      );
      rows.push(row);
    }
  }
  replaceChildren(/** @type {HTMLElement} */ (table.querySelector("tbody")), rows);
  table.hidden = rows.length === 0;
}

/** @param {HTMLFormElement} form */
async function submitAccount(form) {
  const local = required(form, "admin_local_part");
  const displayName = local === null ? null : required(form, "display_name");
  const password = displayName === null ? null : required(form, "password");
  if (local === null || displayName === null || password === null) return;
  await busy(form, async () => {
    const result = await post("/api/v1/onboarding/account/create", {
      session_id: sessionId(),
      domain: state.domain,
      admin_local_part: local,
      display_name: displayName,
      password,
    });
    /** @type {HTMLInputElement} */ (form.elements.namedItem("password")).value = "";
    $('[data-result="account"]').textContent = t("account_ok", {
      account: String(result.account_unicode || result.account),
      plan: String(result.plan),
      quota: String(result.mailbox_quota_mb),
    });
    const again = $("[data-manual-again]");
    // Said again on the last step: without these records the mailbox receives nothing.
    again.replaceChildren(...(state.manual.length ? [el("p", t("manual_again")), manualList(state.manual)] : []));
    // The mail check's answer says what is left, the manual records included.
    again.hidden = state.manual.length === 0 || Boolean(result.mail);
    setState({ step: "done" });
    showLastPage(result.mail);
  });
}

/**
 * The last page's mail section: "Ready" or "Almost there" (mail.js).
 * @param {Record<string, any> | null | undefined} mail
 */
function showLastPage(mail) {
  showMail($("[data-mail]"), $('[data-step="done"] h2'), mail, () =>
    post("/api/v1/onboarding/mail/check", { session_id: sessionId(), domain: state.domain }),
  );
}

function restart() {
  sessionStorage.removeItem(SESSION_KEY);
  sessionStorage.removeItem(STATE_KEY);
  state = loadState();
  for (const node of document.querySelectorAll("[data-result], [data-error]")) node.textContent = "";
  for (const form of document.querySelectorAll("form")) form.reset();
  $("[data-records]").hidden = true;
  $("[data-plan]").replaceChildren();
  $("[data-manual-again]").hidden = true;
  render();
}

const FORMS = { domain: submitDomain, dns: submitDns, account: submitAccount };
const ACTIONS = { restart };

/** Bind behaviour from data-* attributes: one init list for the whole page. */
function init() {
  translatePage();
  for (const form of document.querySelectorAll("form[data-form]")) {
    const handler = FORMS[form.dataset.form];
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (handler) handler(/** @type {HTMLFormElement} */ (form));
    });
  }
  for (const button of document.querySelectorAll("[data-action]")) {
    const action = ACTIONS[button.dataset.action];
    if (action) button.addEventListener("click", action);
  }
  translateMailTexts();
  render();
  if (state.step === "dns" && state.domain) loadPlan();
  if (state.step === "done" && state.domain) {
    // Back on the last page: what the mail looks like now (the last check within 30 s).
    post("/api/v1/onboarding/mail/check", { session_id: sessionId(), domain: state.domain }).then(
      (mail) => showLastPage(mail),
      () => showLastPage(null),
    );
  }
}

init();
