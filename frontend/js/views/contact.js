// Who to contact about a session, in a page: a mailto: link whose
// text is the address as text (the address rules are in ../contact.js).

import { mailtoHref } from "../contact.js";
import { el } from "../dom.js";

export { contactAddress, contactOf, mailtoHref } from "../contact.js";

/**
 * The contact as a link (its text the address), or a hint when it is not known.
 * @param {unknown} value
 * @param {Function} t
 * @returns {HTMLElement}
 */
export function contactLink(value, t) {
  const href = mailtoHref(value);
  if (href === null) return el("span", { class: "muted", "data-contact": "", text: t("contact.unknown") });
  return el("a", { href, "data-contact": "", text: String(value) });
}
