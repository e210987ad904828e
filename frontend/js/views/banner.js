// The banner on every Desk page: what is wrong now (the stream's `alerts` event), each
// condition a sentence with its figures and links to the sessions concerned. Text only.
// It folds (a button under its title, aria-expanded): folded at first on a phone, so the
// page's own content is on the first screen; the agent's choice is kept while the page is
// open. The stuck sessions' line links to the list of every stuck session.

export const PHONE_QUERY = "(max-width: 600px)";
// The longest window the drill-down takes: every stuck session (idle for less than the
// abandonment time) started within it unless it has been active for 30 days.
export const STUCK_LIST = "/funnel/sessions?state=stuck&hours=720";

import { el, fill } from "../dom.js";
import { domainText, label } from "../i18n.js";

/**
 * One condition as a line: its sentence, then its sessions as links.
 * @param {{kind: string, figures: any, sessions: any[]}} condition
 * @param {(key: string, vars?: Record<string, string | number>) => string} t
 * @returns {HTMLElement}
 */
export function conditionLine(condition, t) {
  const figures = condition.figures || {};
  const vars = { ...figures };
  if (condition.kind === "stuck_sessions") vars.n = figures.stuck;
  if (condition.kind === "failure_spike") {
    vars.failures = t("count.failures", { n: figures.failed });
    vars.sessions = t("count.sessionsStarted", { n: figures.started });
  }
  const parts = [t(`banner.${condition.kind}`, vars)];
  for (const code of figures.codes || []) {
    parts.push(
      t("banner.code", { code: code.code, step: label(t, "step", code.step), n: code.failures }),
    );
  }
  const links = (condition.sessions || []).map((session) =>
    el("li", {}, [
      el("a", {
        href: `/sessions/${encodeURIComponent(session.session_id)}`,
        text: session.domain ? domainText(t, session.domain) : session.session_id,
      }),
    ]),
  );
  return el("li", { class: "banner-item", "data-condition": condition.kind }, [
    el("span", { class: "banner-text", text: parts.join(" ") }),
    links.length ? el("ul", { class: "banner-sessions", "aria-label": t("banner.sessions") }, links) : null,
    condition.kind === "stuck_sessions"
      ? el("a", { class: "banner-all", href: STUCK_LIST, "data-stuck-list": "", text: t("banner.allStuck", { n: figures.stuck }) })
      : null,
  ]);
}

/**
 * Render the conditions into the banner node; hidden when there are none.
 * @param {HTMLElement} node
 * @param {any} document an `alerts` event's data
 * @param {(key: string, vars?: Record<string, string | number>) => string} t
 */
export function renderBanner(node, document, t) {
  const conditions = Array.isArray(document?.conditions) ? document.conditions : [];
  node.hidden = conditions.length === 0;
  if (node.getAttribute("data-folded") === null) node.setAttribute("data-folded", String(onPhone()));
  const folded = node.getAttribute("data-folded") === "true";
  const list = el("ul", { class: "banner-list", id: "banner-list", hidden: folded }, conditions.map((c) => conditionLine(c, t)));
  const toggle = el("button", {
    type: "button",
    class: "banner-toggle secondary",
    "data-banner-toggle": "",
    "aria-expanded": String(!folded),
    "aria-controls": "banner-list",
    text: t(folded ? "banner.show" : "banner.hide", { n: conditions.length }),
  });
  toggle.addEventListener("click", () => {
    node.setAttribute("data-folded", String(node.getAttribute("data-folded") !== "true"));
    renderBanner(node, document, t);
    node.querySelector("[data-banner-toggle]")?.focus();
  });
  fill(
    node,
    conditions.length
      ? [el("div", { class: "banner-head" }, [el("h2", { class: "banner-title", text: t("banner.title") }), toggle]), list]
      : [],
  );
}

function onPhone() {
  return typeof window !== "undefined" && typeof window.matchMedia === "function"
    ? window.matchMedia(PHONE_QUERY).matches
    : false;
}

/**
 * @param {HTMLElement} node the [data-banner] element
 * @param {{t: Function, live: import("../live.js").LiveStream | null}} ctx
 */
export function initBanner(node, ctx) {
  node.hidden = true;
  if (!ctx.live) return;
  ctx.live.on("alerts", (document) => renderBanner(node, document, ctx.t));
}
