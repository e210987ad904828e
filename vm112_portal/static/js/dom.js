// Small DOM helpers: text only, never HTML.

/**
 * The single element matching a selector (throws when missing, to fail loudly in development).
 * @param {string} selector
 * @returns {HTMLElement}
 */
export function $(selector) {
  const element = document.querySelector(selector);
  if (!element) throw new Error(`missing element ${selector}`);
  return /** @type {HTMLElement} */ (element);
}

/**
 * Create an element with text content.
 * @param {string} tag
 * @param {string} [text]
 * @returns {HTMLElement}
 */
export function el(tag, text = "") {
  const element = document.createElement(tag);
  element.textContent = text;
  return element;
}

/**
 * Replace an element's children with the given nodes.
 * @param {HTMLElement} parent
 * @param {Node[]} children
 */
export function replaceChildren(parent, children) {
  parent.replaceChildren(...children);
}
