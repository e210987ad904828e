// Who to contact about a session: the admin address the customer
// typed, checked as Ops checks it, and the mailto: URL built from it. Pure: no DOM here.

// The address Ops accepts as a contact (vm122_ops/tickets/contacts.py, _ADDRESS): an RFC 5322
// dot-atom local part, @, an ASCII domain of at least two LDH labels.
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?";
const ADDRESS = new RegExp(`^${ATEXT}(?:\\.${ATEXT})*@${LABEL}(?:\\.${LABEL})+$`);

/**
 * The value when it is one plain address (at most 254 characters), else null.
 * @param {unknown} value
 * @returns {string | null}
 */
export function contactAddress(value) {
  if (typeof value !== "string" || value.length > 254 || !ADDRESS.test(value)) return null;
  return value;
}

/**
 * A mailto: URL for an address (RFC 6068): the local part percent-encoded, so nothing in
 * it can add headers (`?cc=`) or another recipient; null when it is not an address.
 * @param {unknown} value
 * @returns {string | null}
 */
export function mailtoHref(value) {
  const address = contactAddress(value);
  if (address === null) return null;
  const at = address.lastIndexOf("@");
  return `mailto:${encodeURIComponent(address.slice(0, at))}@${address.slice(at + 1)}`;
}

/**
 * The contact an `onboard` message carries (`contact`, else an older Portal's `account`
 * on account.created and onboarding.completed), as Ops keeps it; null when none.
 * @param {any} message
 * @returns {string | null}
 */
export function contactOf(message) {
  const data = message && typeof message.data === "object" && message.data ? message.data : {};
  const found = contactAddress(data.contact);
  if (found !== null) return found;
  const old = ["account.created", "onboarding.completed"].includes(message.event_type);
  return old ? contactAddress(data.account) : null;
}
