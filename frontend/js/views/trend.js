// Conversion over time: an SVG chart (a bar per period: sessions that entered, the part
// that completed; the conversion on hover) and the same figures as a table for screen
// readers. Open periods (their sessions may still convert) are drawn lighter.

import { el, fill } from "../dom.js";
import { formatDateTime, formatPercent } from "../format.js";

const SVG = "http://www.w3.org/2000/svg";
const BAR = 10;
const HEIGHT = 100;

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 * @param {any[]} [children]
 */
function svg(tag, attrs, children = []) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child);
  return node;
}

/**
 * One period's figures as a sentence (the bar's hover title).
 * @param {any} p
 * @param {(key: string, vars?: any) => string} t
 * @param {string} lang
 */
export function periodText(p, t, lang) {
  return t(p.open ? "trend.pointOpen" : "trend.point", {
    start: formatDateTime(p.start, lang),
    entered: p.entered,
    completed: p.completed,
    failed: p.failed,
    conversion: formatPercent(p.conversion, lang),
  });
}

/**
 * @param {HTMLElement} node
 * @param {any} trend the answer of GET /api/v1/onboard/trend
 * @param {{t: Function, lang: string}} ctx
 */
export function renderTrend(node, trend, { t, lang }) {
  const periods = trend?.periods || [];
  const most = Math.max(1, ...periods.map((p) => p.entered));
  const bars = periods.map((p, index) => {
    const x = index * BAR;
    const entered = (p.entered / most) * HEIGHT;
    const completed = (p.completed / most) * HEIGHT;
    return svg("g", { class: p.open ? "trend-bar open" : "trend-bar", "data-start": p.start }, [
      svg("title", {}, [document.createTextNode(periodText(p, t, lang))]),
      svg("rect", { class: "entered", x: x + 1, y: HEIGHT - entered, width: BAR - 2, height: entered }),
      svg("rect", { class: "completed", x: x + 1, y: HEIGHT - completed, width: BAR - 2, height: completed }),
    ]);
  });
  const chart = svg(
    "svg",
    {
      class: "trend-chart",
      "data-trend-chart": "",
      viewBox: `0 0 ${Math.max(1, periods.length) * BAR} ${HEIGHT}`,
      preserveAspectRatio: "none",
      "aria-hidden": "true",
      focusable: "false",
    },
    bars,
  );
  const rows = periods.map((p) =>
    el("tr", { "data-start": p.start }, [
      el("td", { text: formatDateTime(p.start, lang) }),
      el("td", { text: String(p.entered) }),
      el("td", { text: String(p.completed) }),
      el("td", { text: String(p.failed) }),
      el("td", { text: formatPercent(p.conversion, lang) }),
      el("td", { text: p.open ? t("trend.open") : "" }),
    ]),
  );
  fill(node, [
    el("p", { class: "muted", text: t(trend?.period === "day" ? "trend.byDay" : "trend.byHour") }),
    chart,
    el("table", { class: "grid sr-only", "data-trend-table": "" }, [
      el("caption", { text: t("trend.title") }),
      el("thead", {}, [
        el("tr", {}, [
          el("th", { text: t("trend.start") }),
          el("th", { text: t("trend.entered") }),
          el("th", { text: t("trend.completed") }),
          el("th", { text: t("trend.failed") }),
          el("th", { text: t("trend.conversion") }),
          el("th", { text: t("trend.openColumn") }),
        ]),
      ]),
      el("tbody", {}, rows),
    ]),
  ]);
}
