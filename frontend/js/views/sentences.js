// Each event type as a sentence with its key facts, in the page's language. Pure:
// strings in, strings out; the timeline puts them in the page as text.
// The data fields are the Portal's (docs/webhook-funnel-events.md, vm112_portal/wizard.py
// and cloudflare_dns.py): every one is optional, so a missing fact is said, never guessed.

import { summariseData } from "../format.js";
import { label, refusalText } from "../i18n.js";
import { unicodeDomain } from "../idn.js";
import { mailCheckedSentence } from "../mailCheck.js";

/**
 * A data value as text: strings as they are, numbers and booleans written out, anything
 * else (objects, lists) as JSON; null when absent.
 * @param {unknown} value
 * @returns {string | null}
 */
function text(value) {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return value.trim() ? value : null;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/**
 * A list field of records, or [] when it is not a list.
 * @param {unknown} value
 * @returns {any[]}
 */
function list(value) {
  return Array.isArray(value) ? value : [];
}

/**
 * One DNS record as "TYPE name content (priority N)".
 * @param {any} record
 * @param {Function} t
 * @returns {string}
 */
function recordText(record, t) {
  if (!record || typeof record !== "object") return text(record) || "?";
  const parts = [text(record.type), text(record.name), text(record.content)].filter(Boolean);
  const priority = text(record.priority);
  if (priority !== null) parts.push(t("say.priority", { n: priority }));
  return parts.join(" ");
}

/**
 * "{n} created" in the page's language, singular or plural.
 * @param {Function} t
 * @param {string} key
 * @param {number} n
 * @returns {string}
 */
function counted(t, key, n) {
  return t(n === 1 ? `${key}.one` : key, { n });
}

/**
 * A domain with its Unicode form beside it when that differs (the Portal's domain_unicode,
 * or its xn-- labels decoded: js/idn.js).
 * @param {any} data
 * @returns {string}
 */
function domainOf(data) {
  const ascii = text(data.domain) || "?";
  const unicode = text(data.domain_unicode) || unicodeDomain(ascii);
  return unicode && unicode !== ascii ? `${unicode} (${ascii})` : ascii;
}

/**
 * dns.applied: the records created, merged, replaced, kept and already there, or the
 * records left to the customer; then what DKIM needs.
 * @param {any} data
 * @param {Function} t
 * @returns {{text: string, facts: string[]}}
 */
function dnsApplied(data, t) {
  const facts = [];
  let sentence;
  if (data.mode === "manual") {
    const records = list(data.records);
    sentence = t("say.dns.manual", { records: counted(t, "say.dns.toPublish", records.length) });
    if (records.length) facts.push(`${t("say.dns.records")}: ${records.map((r) => recordText(r, t)).join("; ")}`);
  } else {
    const created = list(data.created);
    const merged = list(data.merged);
    const replaced = list(data.replaced);
    const kept = list(data.kept);
    const present = list(data.present);
    const counts = [
      counted(t, "say.dns.created", created.length),
      counted(t, "say.dns.merged", merged.length),
      counted(t, "say.dns.replaced", replaced.length),
      counted(t, "say.dns.kept", kept.length),
      counted(t, "say.dns.present", present.length),
    ].join(", ");
    sentence = t("say.dns.applied", { zone: text(data.zone) || domainOf(data), counts });
    const line = (key, records, extra) => {
      if (records.length) {
        facts.push(`${t(key)}: ${records.map((r) => `${recordText(r, t)}${extra(r)}`).join("; ")}`);
      }
    };
    line("say.dns.createdList", created, () => "");
    line("say.dns.mergedList", merged, (r) =>
      text(r?.previous) ? ` (${t("say.dns.was", { previous: text(r.previous) })})` : "",
    );
    const why = (r, key, field) => {
      const others = list(r?.[field]).map((o) => recordText(o, t));
      // The Portal's reason key (providers/dns_plan.py) in words; an unknown one as sent.
      const reason = text(r?.reason) ? label(t, "dnsReason", text(r.reason)) : null;
      const parts = [reason, others.length ? `${t(key)}: ${others.join(", ")}` : null];
      const shown = parts.filter(Boolean).join("; ");
      return shown ? ` (${shown})` : "";
    };
    line("say.dns.replacedList", replaced, (r) => why(r, "say.dns.removed", "removed"));
    line("say.dns.keptList", kept, (r) => why(r, "say.dns.existing", "existing"));
    line("say.dns.presentList", present, () => "");
  }
  const dkim = data.dkim && typeof data.dkim === "object" ? data.dkim : null;
  if (dkim && dkim.status === "pending") {
    const steps = list(dkim.operations).map((s) => text(s) || "").filter(Boolean).join(" ; ");
    facts.push(t("timeline.dkimPending", { steps }));
  }
  return { text: sentence, facts };
}

/**
 * The step, code and reason of a failure, each said when absent.
 * @param {any} data
 * @param {Function} t
 * @returns {string}
 */
function failedText(data, t) {
  const stage = text(data.stage);
  const step = stage ? label(t, "step", stage) : t("say.failed.noStep");
  return t("say.failed", {
    step,
    code: text(data.code) || t("say.failed.noCode"),
    reason: text(data.reason) || t("timeline.noReason"),
  });
}

/**
 * The key facts of an event that identify a repeated failure (collapsed into one entry
 * with a count): same type, step, code and reason.
 * @param {any} entry
 * @returns {string | null} a key, or null for anything but a failure
 */
export function failureKey(entry) {
  if (entry.kind !== "event" || entry.event_type !== "onboarding.failed") return null;
  const data = entry.data && typeof entry.data === "object" ? entry.data : {};
  return JSON.stringify([text(data.stage), text(data.code), text(data.reason)]);
}

/**
 * An event as a sentence and its key facts (each a line of text).
 * @param {{event_type: string, data: any}} entry
 * @param {Function} t
 * @returns {{text: string, facts: string[]}}
 */
export function eventSentence(entry, t) {
  const data = entry.data && typeof entry.data === "object" ? entry.data : {};
  switch (entry.event_type) {
    case "onboarding.started":
      // A refused attempt says why, never "(rejected)" (docs/webhook-funnel-events.md).
      if (data.refusal && typeof data.refusal.code === "string") {
        return { text: t("say.startedRefused", { reason: refusalText(t, data.refusal.code) }), facts: [] };
      }
      return { text: t("say.started", { domain: domainOf(data) }), facts: [] };
    case "domain.validated": {
      const facts = [];
      const registrable = text(data.registrable_domain);
      if (registrable) facts.push(t("say.registrable", { domain: registrable }));
      return { text: t("say.validated", { domain: domainOf(data) }), facts };
    }
    case "dns.applied":
      return dnsApplied(data, t);
    case "account.created": {
      // The Portal may send no account (docs/webhook-funnel-events.md: every field is
      // optional): the sentence then says an account was created, with no placeholder.
      const account = text(data.account_unicode) || text(data.account);
      const name = text(data.display_name);
      const facts = [];
      if (data.domain_created === true) facts.push(t("say.account.domainCreated"));
      if (data.domain_created === false) facts.push(t("say.account.domainExisted"));
      if (text(data.account_id)) facts.push(t("say.account.id", { id: text(data.account_id) }));
      return {
        text: account
          ? t(name ? "say.account.named" : "say.account", { account, name: name || "" })
          : t(name ? "say.account.unnamedFor" : "say.account.unnamed", { name: name || "" }),
        facts,
      };
    }
    case "infra.synced": {
      // Each fact only when given: no "?" in the sentence.
      const plan = text(data.plan);
      const quota = text(data.mailbox_quota_mb) || text(data.quota_mb);
      const details = [
        plan ? t("say.infra.plan", { plan }) : null,
        quota ? t("say.infra.quota", { quota }) : null,
      ].filter(Boolean);
      return {
        text: details.length ? t("say.infra", { details: details.join(", ") }) : t("say.infra.bare"),
        facts: [],
      };
    }
    case "onboarding.completed": {
      const account = text(data.account);
      return { text: account ? t("say.completed.account", { account }) : t("say.completed"), facts: [] };
    }
    case "onboarding.failed":
      return { text: failedText(data, t), facts: [] };
    case "mail.checked":
      return mailCheckedSentence(data, t);
    default:
      return { text: summariseData(entry.data), facts: [] };
  }
}
