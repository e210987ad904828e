// Conversion over time, readable without a pointer: an SVG chart with axes (dates under
// it; sessions on the left axis, conversion on the right), counts as bars (sessions that
// entered each period, the part that completed in green) and the conversion as a line on
// its own 0-100 % axis, so a small day's conversion reads as well as a big day's; a
// non-zero bar is never thinner than MIN_BAR px. The same figures are in a table under the
// chart: always there for screen readers, shown by a button (keyboard and touch), inside a
// focusable scroll region. Open periods (their sessions may still convert) are lighter.

import { el, fill, scrollStopWhileOverflowing, tableToggle } from "../dom.js";
import { formatDateTime, formatPercent } from "../format.js";

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 200;
const MARGIN = { top: 12, right: 44, bottom: 34, left: 40 };
export const MIN_BAR = 2; // px: a period with a few sessions is still seen
const LABEL_PX = 72; // room for one date under the axis ("29/11 14h" at 11 px)

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 * @param {any[]} [children]
 */
function svg(tag, attrs, children = []) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  for (const child of children) {
    if (child === null) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/**
 * One period's figures as a sentence (the bar's title).
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
 * The top of the count axis: the smallest of 1, 2, 5 x 10^k at or above `most`.
 * @param {number} most
 * @returns {number}
 */
export function niceTop(most) {
  if (most <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(most));
  for (const step of [1, 2, 5, 10]) if (step * power >= most) return step * power;
  return 10 * power;
}

/**
 * A period's start as an axis label: "29/11" for days, "29/11 14h" for hours (UTC).
 * @param {string} iso
 * @param {"hour"|"day"} period
 */
export function axisLabel(iso, period) {
  const date = new Date(iso);
  const day = `${String(date.getUTCDate()).padStart(2, "0")}/${String(date.getUTCMonth() + 1).padStart(2, "0")}`;
  return period === "day" ? day : `${day} ${String(date.getUTCHours()).padStart(2, "0")}h`;
}

/**
 * Bar height in px for `value` on an axis whose top is `top` over `span` px.
 * @param {number} value
 * @param {number} top
 * @param {number} span
 */
export function barHeight(value, top, span) {
  if (value <= 0) return 0;
  return Math.max(MIN_BAR, (value / top) * span);
}

/**
 * @param {HTMLElement} node
 * @param {any} trend the answer of GET /api/v1/onboard/trend
 * @param {{t: Function, lang: string}} ctx
 */
export function renderTrend(node, trend, { t, lang }) {
  const periods = trend?.periods || [];
  const period = trend?.period === "day" ? "day" : "hour";
  const width = Math.max(340, Math.round(node.clientWidth || 720));
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const top = niceTop(Math.max(0, ...periods.map((p) => p.entered)));
  const slot = plotW / Math.max(1, periods.length);
  const barW = Math.max(1, Math.min(28, slot * 0.7));
  const baseY = MARGIN.top + plotH;
  const xOf = (index) => MARGIN.left + index * slot + slot / 2;

  const grid = [0, 0.5, 1].map((f) => {
    const y = baseY - f * plotH;
    return svg("g", { class: "trend-tick" }, [
      svg("line", { x1: MARGIN.left, x2: MARGIN.left + plotW, y1: y, y2: y, class: "trend-grid" }),
      // The middle line names its count only when it is whole (top 5: 0 and 5).
      Number.isInteger(top * f)
        ? svg("text", { x: MARGIN.left - 6, y: y + 4, "text-anchor": "end", class: "trend-axis-count" }, [String(top * f)])
        : null,
      svg("text", { x: MARGIN.left + plotW + 6, y: y + 4, "text-anchor": "start", class: "trend-axis-rate" }, [`${Math.round(f * 100)} %`]),
    ]);
  });
  const labels = Math.max(2, Math.min(8, Math.floor(plotW / LABEL_PX)));
  const every = Math.max(1, Math.ceil(periods.length / labels));
  const dates = periods
    .map((p, index) => (index % every === 0 || index === periods.length - 1 ? [p, index] : null))
    .filter((pair) => pair !== null)
    .filter(([, index], i, all) => i === all.length - 1 || all[i + 1][1] - index >= every)
    .map(([p, index]) =>
      svg("text", { x: xOf(index), y: baseY + 18, "text-anchor": "middle", class: "trend-axis-date", "data-axis-date": p.start }, [axisLabel(p.start, period)]),
    );
  const bars = periods.map((p, index) => {
    const entered = barHeight(p.entered, top, plotH);
    const completed = barHeight(p.completed, top, plotH);
    const x = xOf(index) - barW / 2;
    return svg("g", { class: p.open ? "trend-bar open" : "trend-bar", "data-start": p.start }, [
      svg("title", {}, [periodText(p, t, lang)]),
      svg("rect", { class: "entered", x, y: baseY - entered, width: barW, height: entered }),
      svg("rect", { class: "completed", x, y: baseY - completed, width: barW, height: completed }),
    ]);
  });
  const points = periods
    .map((p, index) => (typeof p.conversion === "number" ? [xOf(index), baseY - p.conversion * plotH] : null))
    .filter((point) => point !== null);
  const line = points.length
    ? [
        svg("polyline", { class: "trend-line", points: points.map(([x, y]) => `${x},${y}`).join(" "), fill: "none" }),
        ...points.map(([x, y]) => svg("circle", { class: "trend-dot", cx: x, cy: y, r: 2.5 })),
      ]
    : [];
  const chart = svg(
    "svg",
    {
      class: "trend-chart",
      "data-trend-chart": "",
      viewBox: `0 0 ${width} ${HEIGHT}`,
      width,
      height: HEIGHT,
      "aria-hidden": "true",
      focusable: "false",
    },
    [
      ...grid,
      svg("line", { x1: MARGIN.left, x2: MARGIN.left + plotW, y1: baseY, y2: baseY, class: "trend-axis" }),
      ...bars,
      ...line,
      ...dates,
    ],
  );
  // Refused attempts (an Ops before them sends none): entered, but not in the conversion.
  const refused = periods.some((p) => typeof p.refused === "number");
  const rows = periods.map((p) =>
    el("tr", { "data-start": p.start }, [
      el("th", { scope: "row", text: formatDateTime(p.start, lang) }),
      el("td", { text: String(p.entered) }),
      el("td", { text: String(p.completed) }),
      el("td", { text: String(p.failed) }),
      el("td", { text: formatPercent(p.conversion, lang) }),
      refused ? el("td", { "data-refused": "", text: String(p.refused ?? 0) }) : null,
      el("td", { text: p.open ? t("trend.open") : "" }),
    ]),
  );
  const tableId = "trend-table";
  const { shown, button: toggle } = tableToggle(node, {
    marker: "data-trend-toggle",
    controls: tableId,
    show: t("trend.showTable"),
    hide: t("trend.hideTable"),
    redraw: () => renderTrend(node, trend, { t, lang }),
  });
  fill(node, [
    el("p", { class: "muted", text: t(period === "day" ? "trend.byDay" : "trend.byHour") }),
    el("ul", { class: "trend-legend", "aria-hidden": "true" }, [
      el("li", { class: "legend-entered", text: t("trend.entered") }),
      el("li", { class: "legend-completed", text: t("trend.completed") }),
      el("li", { class: "legend-rate", text: t("trend.conversionAxis") }),
    ]),
    el("div", { class: "trend-plot" }, [chart]),
    toggle,
    el(
      "div",
      {
        id: tableId,
        class: shown ? "scroll trend-table" : "sr-only",
        "data-trend-region": "",
        role: "region",
        "aria-label": t("trend.tableLabel"),
      },
      [
        el("table", { class: "grid", "data-trend-table": "" }, [
          el("caption", { text: t("trend.title") }),
          el("thead", {}, [
            el("tr", {}, [
              el("th", { scope: "col", text: t("trend.start") }),
              el("th", { scope: "col", text: t("trend.entered") }),
              el("th", { scope: "col", text: t("trend.completed") }),
              el("th", { scope: "col", text: t("trend.failed") }),
              el("th", { scope: "col", text: t("trend.conversion") }),
              refused ? el("th", { scope: "col", text: t("trend.refused") }) : null,
              el("th", { scope: "col", text: t("trend.openColumn") }),
            ]),
          ]),
          el("tbody", {}, rows),
        ]),
      ],
    ),
  ]);
  // Shown, the table scrolls inside its region (taller than 20rem, or wider than a phone):
  // a Tab stop only while it does. Hidden, it is a 1 px box for screen readers, no stop.
  if (shown) scrollStopWhileOverflowing(node.querySelector("[data-trend-region]"));
}
