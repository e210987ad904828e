// mail.checked in words (docs/webhook-funnel-events.md, "Mail readiness"): the timeline's
// sentence and the Desk's "mail not ready" list say each item that is not ok the same
// way. Pure: strings in, strings out; the views put them in the page as text.

export const MAIL_ITEMS = ["mx", "spf", "dmarc", "dkim", "autodiscover"];

/**
 * A data value as text, or null when absent or not a string/number.
 * @param {unknown} value
 * @returns {string | null}
 */
function text(value) {
  if (typeof value === "string") return value.trim() ? value : null;
  if (typeof value === "number") return String(value);
  return null;
}

/**
 * What one item that is not ok means, in the page's language ("MX still points to
 * Microsoft 365"); an unknown code is said as the item and its status.
 * @param {any} item
 * @param {Function} t
 * @returns {string}
 */
export function mailItemText(item, t) {
  if (!item || typeof item !== "object") return "?";
  const found = Array.isArray(item.found) ? item.found.map(text).filter(Boolean).join(", ") : "";
  const params = {
    provider: text(item.provider) || found || "?",
    found: found || "?",
    lookups: text(item.lookups) || "?",
    selector: text(item.selector) || "?",
    name: text(item.name) || "?",
    why: text(item.why) || "?",
  };
  const key = `mail.code.${text(item.code) || ""}`;
  const said = t(key, params);
  if (said !== key) return said;
  return t("mail.code.unknown", { item: text(item.name) || "?", status: text(item.status) || "?" });
}

/**
 * The items of a check that are not ok, in the contract's order.
 * @param {unknown} items
 * @returns {any[]}
 */
export function missingItems(items) {
  const list = Array.isArray(items) ? items.filter((i) => i && typeof i === "object") : [];
  const rank = (i) => {
    const n = MAIL_ITEMS.indexOf(i.name);
    return n < 0 ? MAIL_ITEMS.length : n;
  };
  return list.filter((i) => i.status !== "ok").sort((a, b) => rank(a) - rank(b));
}

/**
 * mail.checked as a sentence ("Mail not ready: MX still points to Microsoft 365") and its
 * facts (what changed, who does what).
 * @param {any} data
 * @param {Function} t
 * @returns {{text: string, facts: string[]}}
 */
export function mailCheckedSentence(data, t) {
  const facts = [];
  const before = data.changed_from && typeof data.changed_from === "object" ? data.changed_from : null;
  if (before && typeof before.ready === "boolean") {
    const key = before.ready ? "mail.was.ready" : data.ready === true ? "mail.was.notReady" : "mail.was.otherItems";
    facts.push(t(key));
  } else if (data.changed_from === null) {
    facts.push(t("mail.first"));
  }
  if (data.ready === true) return { text: t("mail.ready"), facts };
  const missing = missingItems(data.items);
  for (const item of missing) {
    if (item.todo === "team") facts.push(t("mail.todo.team", { item: mailItemText(item, t) }));
    if (Array.isArray(item.commands) && item.commands.length) {
      facts.push(t("mail.commands", { commands: item.commands.map(text).filter(Boolean).join(" ; ") }));
    }
  }
  const said = missing.map((item) => mailItemText(item, t)).join("; ");
  return { text: t("mail.notReady", { missing: said || "?" }), facts };
}
