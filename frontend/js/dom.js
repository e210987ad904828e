// DOM building with createElement and textContent only: data never becomes markup.

/**
 * An element with attributes and children; strings become text nodes.
 * @param {string} tag
 * @param {Record<string, string | number | boolean | null | undefined>} [attrs]
 *   "text" sets textContent, "class" the class, others are attributes (null/false skip)
 * @param {(Node | string | null | undefined)[]} [children]
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else if (name === "class") node.className = String(value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/**
 * Replace a node's children.
 * @param {Element} node
 * @param {(Node | string | null | undefined)[]} children
 */
export function fill(node, children) {
  node.replaceChildren(...children.filter((c) => c !== null && c !== undefined));
}

/**
 * Run `fn` at most once per `ms`, after the last call (for refetches on bursts).
 * @param {() => void} fn
 * @param {number} ms
 * @returns {() => void}
 */
export function debounce(fn, ms) {
  let timer = null;
  return () => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
}
