// The onboarding wizard: three steps, inline errors, where the customer stands. The
// session is the browser's HttpOnly cookie (the wizard secret); the page keeps only what it
// shows (step, domain, support reference) for this tab, and never sees a session id.

import { ApiError, get, post } from "./api.js";
import { $, el, replaceChildren } from "./dom.js";
import { LANG, t, translatePage } from "./i18n.js";
import { showMail, tm, translateMailTexts } from "./mail.js";
import { manualList, planList, replaceChoices } from "./plan.js";

const STATE_KEY = "vm112.wizard";
const STEPS = ["domain", "dns", "account", "done"];
const API = "/api/v1/onboarding";

/** @typedef {{step: string, domain: string, reference: string, manual: Record<string, unknown>[], stopped: string[]}} State */

/** @returns {State} */
function loadState() {
  try {
    const state = JSON.parse(sessionStorage.getItem(STATE_KEY) || "{}");
    return {
      step: STEPS.includes(state.step) ? state.step : "domain",
      domain: typeof state.domain === "string" ? state.domain : "",
      reference: typeof state.reference === "string" ? state.reference : "",
      manual: Array.isArray(state.manual) ? state.manual : [],
      stopped: Array.isArray(state.stopped) ? state.stopped : [],
    };
  } catch {
    return { step: "domain", domain: "", reference: "", manual: [], stopped: [] };
  }
}

let state = loadState();
/** @type {{email: string | null, phone: string | null}} */
let support = { email: null, phone: null };

/** @param {Partial<State>} change */
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
  $("[data-reference]").textContent = state.reference;
  $("[data-reference-line]").hidden = !state.reference;
  $("[data-domain-suffix]").textContent = state.domain ? `@${state.domain}` : "";
  const current = STEPS.indexOf(state.step);
  for (const section of document.querySelectorAll("[data-step]")) {
    const index = STEPS.indexOf(section.dataset.step);
    section.hidden = index > current || (state.step === "done" && index < current);
    // A finished step stays readable but can no longer be changed or tabbed into: the
    // first Tab stop is the current step's first field.
    const finished = index < current;
    section.toggleAttribute("data-finished", finished);
    for (const control of section.querySelectorAll("input, button")) {
      const input = /** @type {HTMLInputElement} */ (control);
      if (input.tagName === "BUTTON" || input.type === "radio") input.disabled = finished;
      else input.readOnly = finished;
      if (finished) input.tabIndex = -1;
      else input.removeAttribute("tabindex");
    }
  }
  for (const name of state.stopped) {
    // A fault that repeats: the step's button is no longer offered.
    const button = document.querySelector(`form[data-form="${name}"] button[type=submit]`);
    if (button instanceof HTMLButtonElement) button.hidden = true;
  }
  for (const marker of document.querySelectorAll("[data-step-marker]")) {
    const index = STEPS.indexOf(marker.dataset.stepMarker);
    marker.dataset.state = index < current ? "done" : index === current ? "current" : "todo";
    if (index === current) marker.setAttribute("aria-current", "step");
    else marker.removeAttribute("aria-current");
  }
  const contact = supportContact();
  $("[data-support-done]").textContent = contact ? t("done_support", { contact }) : "";
}

/** @returns {string} the support e-mail and/or phone as one phrase ("" when not set) */
function supportContact() {
  return [support.email, support.phone].filter(Boolean).join(t("support_or"));
}

// The field each code is about: it gets aria-invalid (the error is already in its
// aria-describedby).
const FIELD_OF_CODE = {
  domain_invalid: "domain",
  domain_not_in_dns: "domain",
  mailbox_provider: "domain",
  domain_taken: "domain",
  domain_in_progress: "domain",
  domain_onboarded: "domain",
  domain_fixed: "domain",
  contact_invalid: "contact",
  contact_at_domain: "contact",
  local_part_rule: "admin_local_part",
  address_taken: "admin_local_part",
  password_rule: "password",
  password_refused: "password",
};

/** @param {string} name the form whose fields lose aria-invalid */
function clearInvalid(name) {
  for (const input of document.querySelectorAll(`form[data-form="${name}"] [aria-invalid]`)) {
    input.removeAttribute("aria-invalid");
  }
}

/** @param {string} field */
function markInvalid(field) {
  const input = document.getElementById(field);
  if (input) input.setAttribute("aria-invalid", "true");
}

/**
 * Show an error under a form (as text): what happened in the customer's words, whether
 * trying again can help, and who to contact with the support reference (a validation
 * error has no reference).
 * @param {string} name
 * @param {unknown} error
 */
function showError(name, error) {
  const lines = [t("network_error")];
  if (error instanceof ApiError && error.status) {
    // The technical reason went to Ops in the event, never to the customer.
    const fallback = error.status >= 400 && error.status < 500 ? "invalid_input" : "generic";
    const key = `error_${error.code || fallback}`;
    lines[0] = t(key) === key ? t("error_generic") : t(key);
    if (error.status >= 500 && error.retry) lines.push(t("retry_hint"));
    if (error.reference) {
      lines.push(t("support_ref", { ref: error.reference }));
      if (!state.reference) setState({ reference: error.reference });
    }
    if (!error.retry && !state.stopped.includes(name)) {
      setState({ stopped: [...state.stopped, name] });
    }
    const field = FIELD_OF_CODE[error.code];
    if (field) markInvalid(field);
  }
  const contact = supportContact();
  lines.push(contact ? t("support_contact", { contact }) : t("support_generic"));
  replaceChildren(
    $(`[data-error="${name}"]`),
    lines.map((line) => el("p", line)),
  );
}

/**
 * Run a form's action with its button disabled and its error cleared.
 * @param {HTMLFormElement} form
 * @param {() => Promise<void>} action
 */
async function busy(form, action) {
  const button = form.querySelector("button[type=submit]");
  const name = form.dataset.form;
  $(`[data-error="${name}"]`).replaceChildren();
  clearInvalid(name);
  if (button) button.disabled = true;
  try {
    await action();
  } catch (error) {
    showError(name, error);
  } finally {
    if (button) button.disabled = STEPS.indexOf(name) < STEPS.indexOf(state.step);
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
    clearInvalid(form.dataset.form);
    replaceChildren($(`[data-error="${form.dataset.form}"]`), [el("p", t("required"))]);
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return null;
  }
  return value;
}

/** @param {HTMLFormElement} form */
async function submitDomain(form) {
  const domain = required(form, "domain");
  if (domain === null) return;
  const contact = /** @type {HTMLInputElement} */ (form.elements.namedItem("contact")).value.trim();
  await busy(form, async () => {
    const body = contact ? { domain, contact, language: LANG } : { domain, language: LANG };
    const result = await post(`${API}/validate-domain`, body);
    $('[data-result="domain"]').textContent = t("domain_ok", { domain: String(result.domain_unicode) });
    setState({ step: "dns", domain: String(result.domain), reference: String(result.reference || "") });
    await loadPlan();
  });
}

/** Read the zone and show, in plain words, what publishing will do (changes nothing). */
async function loadPlan() {
  const node = $("[data-plan]");
  node.replaceChildren(el("p", t("plan_loading")));
  try {
    const plan = await post(`${API}/dns/cloudflare/plan`, { domain: state.domain });
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
    const result = await post(`${API}/dns/cloudflare/apply`, {
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
            [list("held"), "state_held"], // the MX, written by the account step
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
    const result = await post(`${API}/account/create`, {
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
    post(`${API}/mail/check`, { domain: state.domain }),
  );
}

/** "Start again": the session gives up its domain at once; a new one starts at step 1. */
async function restart() {
  try {
    await post(`${API}/restart`, {});
  } catch {
    // Nothing to release (or the portal is unreachable): the page starts over anyway.
  }
  sessionStorage.removeItem(STATE_KEY);
  state = loadState();
  for (const node of document.querySelectorAll("[data-result], [data-error]")) node.replaceChildren();
  for (const form of document.querySelectorAll("form")) {
    form.reset();
    clearInvalid(form.dataset.form);
  }
  for (const button of document.querySelectorAll("form button[type=submit]")) {
    /** @type {HTMLButtonElement} */ (button).hidden = false;
  }
  $("[data-records]").hidden = true;
  $("[data-plan]").replaceChildren();
  $("[data-manual-again]").hidden = true;
  $("[data-mail]").replaceChildren();
  render();
  $("#domain").focus();
}

/** Who to contact (PORTAL_SUPPORT_CONTACT); the page works without it. */
async function loadSupport() {
  try {
    const answer = await get(`${API}/support`);
    const contact = /** @type {Record<string, unknown>} */ (answer.contact || {});
    support = {
      email: typeof contact.email === "string" ? contact.email : null,
      phone: typeof contact.phone === "string" ? contact.phone : null,
    };
    render();
  } catch {
    // Errors then say "contact our support team" without an address.
  }
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
  loadSupport();
  if (state.step === "dns" && state.domain) loadPlan();
  if (state.step === "done" && state.domain) {
    // Back on the last page: what the mail looks like now (the last check within 30 s).
    post(`${API}/mail/check`, { domain: state.domain }).then(
      (mail) => showLastPage(mail),
      () => showLastPage(null),
    );
  }
}

init();
