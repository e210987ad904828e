// The funnel card: its headline figures with their change against the previous window and
// the stuck sessions now; a bar per stage with its count (and change), % of started and
// step conversion, the median time to the next stage; failed sessions by the step that
// failed; the refused attempts apart (never a stage past started, not in conversion).

import { el, fill } from "../dom.js";
import { formatChange, formatDuration, formatPercent } from "../format.js";
import { label, refusalText } from "../i18n.js";
import { failedRows, funnelChanges, funnelRows, stuckTotal } from "../viewData.js";

export const SPLIT_STATES = ["moving", "stuck", "abandoned", "failed"];

/**
 * The drill-down page of one count of the funnel card.
 * @param {number} hours
 * @param {string} stage
 * @param {string} state
 * @returns {string}
 */
export function cohortHref(hours, stage, state) {
  const params = new URLSearchParams({ hours: String(hours), stage, state });
  return `/funnel/sessions?${params}`;
}

/**
 * Under a stage row: how many sessions stopped there, by state, each opening its list.
 * @param {any} funnel
 * @param {string} stage
 * @param {(key: string, vars?: any) => string} t
 * @returns {HTMLElement | null}
 */
export function stageSplit(funnel, stage, t) {
  const counts = funnel?.stopped?.[stage];
  if (!counts) return null;
  let states = stage === "completed" ? ["completed"] : SPLIT_STATES;
  // Refused attempts stop at started (an Ops before them sends no such count).
  if (stage === "started" && typeof counts.refused === "number") states = [...states, "refused"];
  return el(
    "span",
    { class: "funnel-split", "data-split": stage },
    states.map((state) =>
      el("a", {
        href: cohortHref(funnel.window_hours, stage, state),
        class: `split split-${state}`,
        "data-state": state,
        text: t(`cohort.count.${state}`, { n: counts[state] ?? 0 }),
      }),
    ),
  );
}

/**
 * The card's headline: started, completed, failed and conversion, each with its change
 * against the previous window of the same length (when the funnel has one), and the
 * window's stuck sessions now.
 * @param {any} funnel
 * @param {Function} t
 * @param {string} lang
 * @returns {HTMLElement}
 */
export function funnelSummary(funnel, t, lang) {
  const hours = funnel?.window_hours;
  const items = funnelChanges(funnel).map(({ key, now, before, change }) => {
    const show = key === "conversion" ? (v) => formatPercent(v, lang) : (v) => String(v);
    const figure = t(`funnel.figure.${key}`, { n: show(now) });
    let text = figure;
    if (before !== null && change !== null) {
      const signed = formatChange(change, lang);
      text = t("funnel.change", {
        figure,
        change: key === "conversion" ? t("funnel.points", { d: signed }) : signed,
        before: show(before),
        hours,
      });
    }
    return el("li", { "data-figure": key, text });
  });
  if (typeof funnel?.refused === "number") {
    // Refused attempts: their own list; after "started", which counts them too.
    const refusedList = `/funnel/sessions?${new URLSearchParams({ hours: String(hours ?? ""), state: "refused" })}`;
    items.splice(
      1,
      0,
      el("li", { "data-figure": "refused" }, [
        el("a", { href: refusedList, text: t("funnel.figure.refused", { n: funnel.refused }) }),
      ]),
    );
  }
  // The stuck total opens the list of the window's stuck sessions (its total is this).
  const stuckList = `/funnel/sessions?${new URLSearchParams({ hours: String(hours ?? ""), state: "stuck" })}`;
  items.push(
    el("li", { class: "split-stuck" }, [
      el("a", { href: stuckList, "data-stuck-total": "", text: t("funnel.stuckTotal", { n: stuckTotal(funnel) }) }),
    ]),
  );
  return el("ul", { class: "funnel-summary" }, items);
}

/**
 * Why attempts were refused, by code in words (none when nothing was refused).
 * @param {any} funnel
 * @param {Function} t
 * @returns {HTMLElement | null}
 */
export function refusedCodes(funnel, t) {
  const codes = Object.entries(funnel?.refused_by_code || {});
  if (!codes.length) return null;
  return el("p", { class: "muted refused-codes", "data-refused-codes": "" }, [
    `${t("funnel.refusedWhy")} `,
    codes
      .map(([code, n]) => t("funnel.refusedCount", { reason: refusalText(t, code), n }))
      .join("; "),
  ]);
}

/**
 * A stage row's change against the previous window (empty without one).
 * @param {any} funnel
 * @param {string} stage
 * @param {number} count
 * @param {Function} t
 * @param {string} lang
 * @returns {HTMLElement}
 */
function stageChange(funnel, stage, count, t, lang) {
  const before = funnel?.previous?.stages;
  if (!before) return el("span", { class: "funnel-change" }); // keeps the row's columns
  const was = before[stage] ?? 0;
  return el("span", {
    class: "funnel-change",
    "data-change": count - was,
    title: t("funnel.changeTitle", { before: was, hours: funnel.window_hours }),
    text: formatChange(count - was, lang),
  });
}

/**
 * @param {HTMLElement} node
 * @param {any} funnel
 * @param {{t: Function, lang: string}} ctx
 */
export function renderFunnel(node, funnel, { t, lang }) {
  const rows = funnelRows(funnel).map((row) => {
    const fill_ = el("span", { class: "bar-fill" });
    fill_.style.width = `${row.width}%`; // CSSOM, allowed by the CSP (no style attribute)
    return el("li", { class: "funnel-row", "data-stage": row.stage }, [
      el("span", { class: "funnel-label", text: label(t, "stage", row.stage) }),
      el("span", { class: "bar" }, [fill_]),
      el("span", { class: "funnel-count", "data-count": row.count, text: String(row.count) }),
      stageChange(funnel, row.stage, row.count, t, lang),
      el("span", {
        class: "funnel-ratio",
        text: t("funnel.ofStarted", { p: formatPercent(row.ofStarted, lang) }),
      }),
      el("span", {
        class: "funnel-ratio",
        text: t("funnel.ofPrevious", { p: formatPercent(row.ofPrevious, lang) }),
      }),
      row.stage === "completed"
        ? el("span", { class: "funnel-median" })
        : el("span", {
            class: "funnel-median",
            text: t("funnel.median", { d: formatDuration(row.medianSeconds, lang) }),
          }),
      stageSplit(funnel, row.stage, t),
    ]);
  });
  const failed = failedRows(funnel).map((row) =>
    el("li", { "data-failed-stage": row.stage }, [
      el("span", { text: label(t, "step", row.stage) }),
      el("span", { class: "funnel-count", text: String(row.count) }),
    ]),
  );
  fill(node, [
    funnelSummary(funnel, t, lang),
    refusedCodes(funnel, t),
    el("ol", { class: "funnel" }, rows),
    el("h3", { text: t("funnel.failed") }),
    el("p", { "data-failed-total": "", text: t("funnel.failedTotal", { n: funnel?.failed ?? 0 }) }),
    el("ul", { class: "failed" }, failed),
  ]);
}
