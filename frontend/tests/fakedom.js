// Just enough of a browser to run a Desk view under node --test: elements built with
// createElement/textContent, simple selectors, a window, a fetch whose answers the test
// releases one by one, and a live stream the test drives. Not a test file itself.

class FakeText {
  /** @param {string} text */
  constructor(text) {
    this.textContent = text;
  }
}

export class FakeElement {
  /** @param {string} tag */
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.attributes = new Map();
    this.children = [];
    this.className = "";
    this.style = {};
    this.value = "";
    this.hidden = false;
    this.listeners = {};
    this.ownText = "";
    // Laid out as nothing until a test says otherwise (a scroll region that fits).
    this.scrollWidth = 0;
    this.clientWidth = 0;
    this.scrollHeight = 0;
    this.clientHeight = 0;
  }

  setAttribute(name, value) {
    this.attributes.set(name, String(value));
  }

  getAttribute(name) {
    return this.attributes.has(name) ? this.attributes.get(name) : null;
  }

  removeAttribute(name) {
    this.attributes.delete(name);
  }

  append(...nodes) {
    for (const node of nodes) node.parent = this;
    this.children.push(...nodes);
  }

  remove() {
    if (this.parent) this.parent.children = this.parent.children.filter((c) => c !== this);
    this.parent = null;
  }

  replaceChildren(...nodes) {
    this.children = [...nodes];
    this.ownText = "";
  }

  get textContent() {
    if (!this.children.length) return this.ownText;
    return this.children.map((child) => child.textContent).join("");
  }

  set textContent(text) {
    this.children = [];
    this.ownText = String(text);
  }

  focus() {
    this.focused = true;
  }

  addEventListener(name, handler) {
    (this.listeners[name] ||= []).push(handler);
  }

  /** @param {string} selector a tag and/or [attr] or [attr="value"] parts, no combinators */
  matches(selector) {
    const tag = selector.match(/^[a-z0-9]+/i);
    if (tag && tag[0].toUpperCase() !== this.tagName) return false;
    for (const [, name, value] of selector.matchAll(/\[([\w-]+)(?:="([^"]*)")?\]/g)) {
      const actual = this.getAttribute(name);
      if (actual === null || (value !== undefined && actual !== value)) return false;
    }
    return true;
  }

  querySelectorAll(selector) {
    const found = [];
    const walk = (node) => {
      for (const child of node.children || []) {
        if (child instanceof FakeElement) {
          if (child.matches(selector)) found.push(child);
          walk(child);
        }
      }
    };
    walk(this);
    return found;
  }

  querySelector(selector) {
    return this.querySelectorAll(selector)[0] || null;
  }
}

/** The ResizeObservers and MutationObservers made since the last installBrowser. */
export const observers = [];

/** A stand-in observer: records its targets; the test calls `changed(node)`. */
class FakeObserver {
  constructor(callback) {
    this.callback = callback;
    this.targets = new Set();
    observers.push(this);
  }

  observe(target) {
    this.targets.add(target);
  }

  disconnect() {
    this.targets.clear();
  }
}

class FakeResizeObserver extends FakeObserver {}
class FakeMutationObserver extends FakeObserver {}

/**
 * What a browser does when `node` changes size (`kind` "resize") or has its children
 * replaced ("mutation"): every observer of that kind watching it is called.
 * @param {FakeElement} node
 * @param {"resize" | "mutation"} kind
 * @returns {number} how many observers were called
 */
export function changed(node, kind = "resize") {
  const type = kind === "resize" ? FakeResizeObserver : FakeMutationObserver;
  const called = observers.filter((o) => o instanceof type && o.targets.has(node));
  for (const observer of called) observer.callback([], observer);
  return called.length;
}

/**
 * A root element holding the given empty children, e.g. {"data-funnel": "div"}.
 * @param {Record<string, string>} parts attribute name to tag
 */
export function page(parts) {
  const root = new FakeElement("main");
  for (const [name, tag] of Object.entries(parts)) {
    const node = new FakeElement(tag);
    node.setAttribute(name, "");
    root.append(node);
  }
  return root;
}

/**
 * Install the browser globals for one test: `document`, `window` and `fetch`. Each fetch
 * waits until the test answers it: `requests` lists them, oldest first.
 * @param {string} href the page's address
 */
export function installBrowser(href) {
  const url = new URL(href);
  globalThis.document = {
    title: "",
    createElement: (tag) => new FakeElement(tag),
    createElementNS: (namespace, tag) => new FakeElement(tag),
    createTextNode: (text) => new FakeText(text),
  };
  globalThis.window = {
    location: { href: url.href, pathname: url.pathname, search: url.search, assign() {} },
    history: { replaceState() {} },
    setInterval: () => 0,
  };
  observers.length = 0;
  globalThis.ResizeObserver = FakeResizeObserver;
  globalThis.MutationObserver = FakeMutationObserver;
  /** @type {{url: string, answer: (body: any, status?: number) => Promise<void>}[]} */
  const requests = [];
  globalThis.fetch = (path) =>
    new Promise((resolve) => {
      requests.push({
        url: String(path),
        answer: async (body, status = 200) => {
          resolve({ status, ok: status < 400, statusText: "", json: async () => body });
          await settle();
        },
      });
    });
  return { requests };
}

/** Let pending promise callbacks run (a fetch's answer reaching the view). */
export async function settle() {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** A stand-in for LiveStream: the test emits its events. */
export class FakeLive {
  constructor() {
    this.params = {};
    this.handlers = new Map();
    this.state = "connecting";
    this.statusHandlers = [];
  }

  onStatus(handler) {
    this.statusHandlers.push(handler);
    handler(this.state);
  }

  /** The connection state changes ("connecting", "live", "reconnecting"). */
  setState(state) {
    this.state = state;
    for (const handler of this.statusHandlers) handler(state);
  }

  on(name, handler) {
    if (!this.handlers.has(name)) this.handlers.set(name, []);
    this.handlers.get(name).push(handler);
  }

  setParams(params) {
    this.params = params;
  }

  emit(name, data) {
    for (const handler of this.handlers.get(name) || []) handler(data, null);
  }
}

/**
 * The context main.js passes to a view, in English at a fixed time.
 * @param {(key: string, vars?: any) => string} t
 */
export function context(t) {
  return { lang: "en", t, now: () => Date.parse("2026-11-29T12:00:00Z"), live: new FakeLive() };
}
