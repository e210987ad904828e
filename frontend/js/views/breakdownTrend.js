// Under the breakdown's table: each group's conversion period by period (GET
// /api/v1/onboard/breakdown/trend for the dashboard's window and the card's property), as
// a table shown by a button (keyboard and touch): a row per period in which any group had
// sessions, a column per group, each cell the conversion and the sessions it is of
// ("50 % (2 of 4)": completed of started, refused attempts left out). Dates in UTC.

import { el, fill, scrollStopWhileOverflowing, tableToggle } from "../dom.js";
import { formatDateTime, formatPercent } from "../format.js";
import { label } from "../i18n.js";

/**
 * A group's column header: its value in words, or the other / not known group.
 * @param {any} group
 * @param {string} by
 * @param {Function} t
 * @returns {string}
 */
function groupHeader(group, by, t) {
  if (group.kind === "other") return t("breakdown.other", { n: group.values });
  if (group.kind === "unknown") return t("breakdown.unknown");
  return label(t, `breakdown.value.${by}`, group.value);
}

/**
 * One period of one group as text: its conversion and what it is of, or a dash.
 * @param {any} period {entered, completed, refused, conversion}
 * @param {Function} t
 * @param {string} lang
 * @returns {string}
 */
export function periodCell(period, t, lang) {
  if (!period || !(period.entered > 0)) return "–";
  const counted = period.entered - (period.refused ?? 0);
  return t("breakdown.cell", {
    conversion: formatPercent(period.conversion, lang),
    completed: period.completed,
    n: counted,
  });
}

/**
 * @param {HTMLElement} node
 * @param {any} document the answer of GET /api/v1/onboard/breakdown/trend
 * @param {{t: Function, lang: string}} ctx
 */
export function renderBreakdownTrend(node, document, { t, lang }) {
  const by = document.by;
  const groups = (document.groups || []).filter((g) => g.kind === "value" || g.entered > 0);
  const starts = (groups[0]?.periods || []).map((p) => p.start);
  const rows = [];
  starts.forEach((start, index) => {
    const periods = groups.map((group) => group.periods[index]);
    if (!periods.some((p) => p && p.entered > 0)) return;
    const open = periods.some((p) => p && p.open);
    const when = formatDateTime(start, lang);
    rows.push(
      el("tr", { "data-start": start }, [
        el("th", { scope: "row", text: open ? t("breakdown.openPeriod", { start: when }) : when }),
        ...periods.map((p) => el("td", { class: "num", text: periodCell(p, t, lang) })),
      ]),
    );
  });
  const regionId = "breakdown-trend-table";
  const { shown, button: toggle } = tableToggle(node, {
    marker: "data-breakdown-trend-toggle",
    controls: regionId,
    show: t("breakdown.showTrend"),
    hide: t("breakdown.hideTrend"),
    redraw: () => renderBreakdownTrend(node, document, { t, lang }),
  });
  const content = rows.length
    ? el("table", { class: "grid breakdown", "data-breakdown-trend-table": "", "data-by": by }, [
        el("caption", {
          text: t(document.period === "day" ? "breakdown.trendByDay" : "breakdown.trendByHour", {
            by: t(`breakdown.dim.${by}`),
          }),
        }),
        el("thead", {}, [
          el("tr", {}, [
            el("th", { scope: "col", text: t("trend.start") }),
            ...groups.map((g) => el("th", { scope: "col", class: "num", text: groupHeader(g, by, t) })),
          ]),
        ]),
        el("tbody", {}, rows),
      ])
    : el("p", { class: "muted", text: t("breakdown.none") });
  const region = el(
    "div",
    {
      id: regionId,
      class: "scroll breakdown-trend",
      role: "region",
      "aria-label": t("breakdown.trendLabel"),
      "data-breakdown-trend-region": "",
      "data-focus-key": "trend-region",
      hidden: !shown,
    },
    [content],
  );
  fill(node, [toggle, region]);
  if (shown) scrollStopWhileOverflowing(region); // a Tab stop only while it scrolls
}
