// DOM building with createElement and textContent only: data never becomes markup.

// Bidi controls and zero-width characters (the set vm122_ops/ingest/events.py SPOOFING refuses in
// domains): in free text they are shown as their code points, so text cannot reorder or
// hide itself ("\u202emoc.knab-emca" would display as "acme-bank.com").
const SPOOFING = /[\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/**
 * Text with bidi controls and zero-width characters made visible as [U+XXXX].
 * @param {string} text
 * @returns {string}
 */
export function visible(text) {
  return text.replace(
    SPOOFING,
    (ch) => `[U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}]`,
  );
}

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
    if (name === "text") node.textContent = visible(String(value));
    else if (name === "class") node.className = String(value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(visible(child)) : child);
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
 * Run `fn` once, `ms` after the first call of a burst: at most once per `ms`, and never
 * starved by calls that keep coming (a live page's refetch under a steady stream).
 * @param {() => void} fn
 * @param {number} ms
 * @returns {() => void}
 */
export function coalesce(fn, ms) {
  let timer = null;
  return () => {
    if (timer !== null) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
}

/**
 * The button that shows or hides a view's table (the trend's figures, the breakdown's
 * periods): `node` keeps the choice (`data-table-shown`), a click flips it and redraws
 * the view, and the focus stays on the redrawn button (keyboard users keep their place).
 * @param {Element} node the view's node, redrawn whole by `redraw`
 * @param {{marker: string, controls: string, show: string, hide: string, redraw: () => void}} options
 *   `marker` the button's data attribute, `controls` the table region's id, `show` and
 *   `hide` its texts
 * @returns {{shown: boolean, button: HTMLElement}}
 */
export function tableToggle(node, { marker, controls, show, hide, redraw }) {
  const shown = node.getAttribute("data-table-shown") === "true";
  const button = el("button", {
    type: "button",
    class: "secondary",
    [marker]: "",
    "data-focus-key": marker, // a live redraw gives it the focus back (refocus)
    "aria-expanded": String(shown),
    "aria-controls": controls,
    text: shown ? hide : show,
  });
  button.addEventListener("click", () => {
    node.setAttribute("data-table-shown", String(!shown));
    redraw();
    node.querySelector(`[${marker}]`)?.focus();
  });
  return { shown, button };
}

/**
 * Whether a box's content is wider or taller than the box, so that it scrolls (an empty
 * or hidden box, 0 × 0, does not).
 * @param {{scrollWidth: number, clientWidth: number, scrollHeight: number, clientHeight: number}} box
 * @returns {boolean}
 */
export function overflows({ scrollWidth, clientWidth, scrollHeight, clientHeight }) {
  return scrollWidth > clientWidth || scrollHeight > clientHeight;
}

/**
 * Make a scroll region a Tab stop (tabindex="0") while its content overflows it, and
 * none while it fits: keyboard users need the focus there to scroll it with the arrows,
 * and a stop with nothing to scroll is one more key press for them.
 * @param {Element} region
 * @returns {boolean} whether it is a Tab stop now
 */
export function syncScrollStop(region) {
  const scrolls = overflows(region);
  if (scrolls) region.setAttribute("tabindex", "0");
  else region.removeAttribute("tabindex");
  return scrolls;
}

/**
 * Keep `region` a Tab stop exactly while it scrolls (syncScrollStop): checked now, and
 * again whenever the region or a child of it changes size (the window resized, a table
 * redrawn or grown by a live update) and whenever its children are replaced. The
 * watching ends once the region has left the page (a view redraws its region whole).
 * The region keeps its role and accessible name either way.
 * @param {Element} region
 */
export function scrollStopWhileOverflowing(region) {
  syncScrollStop(region);
  if (typeof ResizeObserver !== "function") return;
  let mutations = null;
  const resizes = new ResizeObserver(() => {
    if (region.isConnected === false) {
      resizes.disconnect();
      mutations?.disconnect();
      return;
    }
    syncScrollStop(region);
  });
  const watch = () => {
    resizes.disconnect();
    resizes.observe(region);
    for (const child of region.children) resizes.observe(child);
  };
  watch();
  if (typeof MutationObserver !== "function") return;
  mutations = new MutationObserver(() => {
    watch();
    syncScrollStop(region);
  });
  mutations.observe(region, { childList: true });
}

/**
 * The `data-focus-key` of the focused element when it is inside `node` (else null):
 * what a redraw of `node` gives the focus back to (`refocus`).
 * @param {Element} node
 * @returns {string | null}
 */
export function focusKeyWithin(node) {
  const active = globalThis.document?.activeElement;
  if (!active || active === node || typeof node.contains !== "function" || !node.contains(active)) {
    return null;
  }
  return active.getAttribute?.("data-focus-key") ?? null;
}

/**
 * After `node` was redrawn whole, focus its element whose `data-focus-key` is `key` (the
 * same control in the new drawing), so a keyboard user who was on a link of a live card
 * stays there instead of being thrown back to the page's start; nothing when `key` is
 * null or the control is gone.
 * @param {Element} node
 * @param {string | null} key
 */
export function refocus(node, key) {
  if (key === null) return;
  const found = node.querySelectorAll("[data-focus-key]");
  for (const candidate of found) {
    if (candidate.getAttribute("data-focus-key") === key) {
      candidate.focus({ preventScroll: true });
      return;
    }
  }
}
