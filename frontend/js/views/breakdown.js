// The dashboard's breakdown card, "which customers fail" (GET /api/v1/onboard/breakdown):
// the funnel of the dashboard's window split by one property the Portal knows of each
// session (DNS mode, the previous mail provider, language, Portal release), as a table:
// per group its started, completed, failed and refused sessions and its conversion, then
// the whole. The top values by name, then everything else and the sessions whose value is
// not known, so the groups add up to the whole (docs/desk.md, "Breakdowns"). The property
// is chosen with a select and kept in the address (`?by=`), like the window (`?hours=`).
// Each count opens its sessions, `/funnel/sessions` with the window, the state (started:
// every session that reached it, each in its own state) and the group (`by=` and `value=`, or `group=other|unknown`; the whole's
// without a group). Under it, each group's conversion period by period
// (breakdownTrend.js). Live like the other cards (liveCard.js): refetched after funnel
// events, at most once a second, and at once on a stream reset; a redraw keeps the
// keyboard focus on the same link (liveCard.js) and the table's sideways scroll. Every
// text through textContent (dom.js `el`).

import { el, fill, scrollStopWhileOverflowing } from "../dom.js";
import { formatPercent } from "../format.js";
import { label } from "../i18n.js";
import { renderBreakdownTrend } from "./breakdownTrend.js";
import { liveCard } from "./liveCard.js";

/** The properties the API splits by (servicekit.contract.BREAKDOWNS), in the select's order. */
export const DIMENSIONS = ["dns_mode", "previous_provider", "language", "release"];
const NOT_FUNNEL = new Set(["mail.checked"]); // events that move no session in the funnel

/**
 * `?by=` as the API takes it, else the first property.
 * @param {string | null} raw
 * @returns {string}
 */
export function dimensionFrom(raw) {
  return raw !== null && DIMENSIONS.includes(raw) ? raw : DIMENSIONS[0];
}

/**
 * A window as the dashboard's select names it ("48 h", "7 d"), or "N h".
 * @param {Function} t
 * @param {number | string} hours
 * @returns {string}
 */
function windowText(t, hours) {
  const key = `hours.${hours}`;
  const text = t(key);
  return text === key ? t("hours.any", { n: Number(hours) }) : text;
}

/**
 * A group's name in the page's language: a known value in words ("Manual DNS"), a
 * release or a value the Desk does not know as it is sent; the other values with their
 * number; the unknown ones with why a session may have no value.
 * @param {any} group {kind, value, values}
 * @param {string} by
 * @param {Function} t
 * @returns {(string | HTMLElement)[]}
 */
export function groupLabel(group, by, t) {
  if (group.kind === "other") return [t("breakdown.other", { n: group.values })];
  if (group.kind === "unknown") {
    return [
      t("breakdown.unknown"),
      el("span", { class: "breakdown-why", text: t(`breakdown.unknownWhy.${by}`) }),
    ];
  }
  return [label(t, `breakdown.value.${by}`, group.value)];
}

/**
 * A group's name in one line, for a count's accessible name ("Not known" without why).
 * @param {any} group {kind, value, values}, or null for the whole
 * @param {string} by
 * @param {Function} t
 * @returns {string}
 */
export function groupName(group, by, t) {
  if (group === null) return t("breakdown.total");
  if (group.kind === "unknown") return t("breakdown.unknown");
  return String(groupLabel(group, by, t)[0]);
}

/**
 * The drill-down of one count of the table: the sessions of the window in `state`
 * (started, completed, failed, refused) of `group` (null: the whole, the funnel's own list), as
 * GET /api/v1/onboard/funnel/sessions takes them: `by=` with `value=` for a named group,
 * `group=other` with the answer's `top`, or `group=unknown`.
 * @param {any} document the answer of GET /api/v1/onboard/breakdown
 * @param {any} group one of its groups, or null
 * @param {string} state
 * @returns {string}
 */
export function countHref(document, group, state) {
  const params = new URLSearchParams({ hours: String(document.window_hours), state });
  if (group !== null) {
    params.set("by", document.by);
    if (group.kind === "value") params.set("value", String(group.value));
    else params.set("group", group.kind);
    if (group.kind === "other") params.set("top", String(document.top));
  }
  return `/funnel/sessions?${params}`;
}

/**
 * One row of figures: the group's name as its row header, then its counts, each a link
 * to its sessions named by its count, state and group (a screen reader's list of links
 * makes sense without the table around it), then the conversion.
 * @param {(string | HTMLElement)[]} name
 * @param {any} figures {stages, completed, failed, refused, conversion}
 * @param {boolean} refused whether the answer counts refused sessions
 * @param {{t: Function, lang: string}} ctx
 * @param {Record<string, string>} attrs
 * @param {{document: any, group: any, by: string}} where the answer and the group (null: the whole)
 * @returns {HTMLElement}
 */
function figureRow(name, figures, refused, { t, lang }, attrs, { document, group, by }) {
  const linked = (state) => {
    const n = Number((state === "started" ? figures.stages?.started : figures[state]) ?? 0);
    return el("td", { class: "num" }, [
      el("a", {
        href: countHref(document, group, state),
        "data-count": state,
        "data-focus-key": `count:${attrs["data-group"]}:${state}`,
        "aria-label": t(`breakdown.link.${state}`, { n, group: groupName(group, by, t) }),
        text: String(n),
      }),
    ]);
  };
  return el("tr", attrs, [
    el("th", { scope: "row" }, name),
    linked("started"),
    linked("completed"),
    linked("failed"),
    refused ? linked("refused") : null,
    el("td", {
      class: "num",
      text: formatPercent(figures.conversion?.completed?.of_started, lang),
    }),
  ]);
}

/**
 * The split as a table (caption, column and row headers), or a sentence when the window
 * has no sessions. `other` and `unknown` are left out while they hold no session.
 * @param {HTMLElement} node
 * @param {any} document the answer of GET /api/v1/onboard/breakdown
 * @param {{t: Function, lang: string}} ctx
 */
export function renderBreakdown(node, document, { t, lang }) {
  const by = document.by;
  const total = document.total || {};
  if (!(total.cohort > 0)) {
    fill(node, [el("p", { class: "muted", "data-breakdown-empty": "", text: t("breakdown.none") })]);
    return;
  }
  const refused = typeof total.refused === "number";
  const groups = (document.groups || []).filter(
    (group) => group.kind === "value" || group.cohort > 0,
  );
  const rows = groups.map((group) =>
    figureRow(
      groupLabel(group, by, t),
      group,
      refused,
      { t, lang },
      { "data-group": group.kind === "value" ? `value:${group.value}` : group.kind },
      { document, group, by },
    ),
  );
  const head = ["group", "started", "completed", "failed", ...(refused ? ["refused"] : []), "conversion"];
  // The table scrolls inside its region when wider than the card (a phone): a Tab stop
  // only while it does (dom.js scrollStopWhileOverflowing).
  const region = el(
    "div",
    {
      class: "scroll",
      role: "region",
      "aria-label": t("breakdown.regionLabel"),
      "data-breakdown-region": "",
      "data-focus-key": "region",
    },
    [
      el("table", { class: "grid breakdown", "data-breakdown-table": "", "data-by": by }, [
        el("caption", {
          text: t("breakdown.caption", {
            by: t(`breakdown.dim.${by}`),
            window: windowText(t, document.window_hours),
          }),
        }),
        el("thead", {}, [
          el(
            "tr",
            {},
            head.map((key) =>
              el("th", { scope: "col", class: key === "group" ? null : "num", text: t(`breakdown.${key}`) }),
            ),
          ),
        ]),
        el("tbody", {}, rows),
        el("tfoot", {}, [
          figureRow(
            [t("breakdown.total")],
            total,
            refused,
            { t, lang },
            { "data-group": "total" },
            { document, group: null, by },
          ),
        ]),
      ]),
    ],
  );
  // A redraw keeps how far the table was scrolled sideways (a phone).
  const scrolled = node.querySelector("[data-breakdown-region]")?.scrollLeft ?? 0;
  fill(node, [region, el("p", { class: "muted breakdown-note", text: t("breakdown.note") })]);
  scrollStopWhileOverflowing(region);
  if (scrolled) region.scrollLeft = scrolled;
}

/**
 * @param {HTMLElement} root the [data-dashboard] element (holds [data-breakdown], its
 *   select [data-breakdown-by], [data-breakdown-trend] and the window select [data-window])
 * @param {any} ctx {t, lang, live}
 */
export function initBreakdown(root, ctx) {
  const node = root.querySelector("[data-breakdown]");
  if (!node) return;
  const select = root.querySelector("[data-breakdown-by]");
  let by = dimensionFrom(new URLSearchParams(window.location.search).get("by"));
  if (select) select.value = by;
  const current = (document, hours) => document.by === by && String(document.window_hours) === hours;
  const refetchOn = (message) => !NOT_FUNNEL.has(message.event_type);
  const loads = [
    liveCard(root, node, ctx, {
      url: (hours) => `/api/v1/onboard/breakdown?${new URLSearchParams({ by, hours })}`,
      current,
      render: renderBreakdown,
      refetchOn,
    }),
  ];
  const trendNode = root.querySelector("[data-breakdown-trend]");
  if (trendNode) {
    loads.push(
      liveCard(root, trendNode, ctx, {
        url: (hours) => `/api/v1/onboard/breakdown/trend?${new URLSearchParams({ by, hours })}`,
        current,
        render: renderBreakdownTrend,
        refetchOn,
      }),
    );
  }
  if (!select) return;
  select.addEventListener("change", () => {
    by = dimensionFrom(select.value);
    const url = new URL(window.location.href);
    url.searchParams.set("by", by);
    window.history.replaceState(null, "", url);
    for (const load of loads) load();
  });
}
