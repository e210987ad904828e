// Formatting of numbers, durations and times for the Desk's labels.

/**
 * The locale of a label language, for numbers and dates.
 * @param {string} lang "en" or "pt"
 * @returns {string}
 */
function localeOf(lang) {
  return lang === "pt" ? "pt-PT" : "en-GB";
}

/**
 * A number with up to `digits` decimals (at least `min`), in the language's notation:
 * "59.7" in English, "59,7" in pt-PT.
 * @param {number} value
 * @param {string} lang
 * @param {number} digits
 * @param {number} [min]
 * @returns {string}
 */
function decimal(value, lang, digits, min = 0) {
  return value.toLocaleString(localeOf(lang), {
    minimumFractionDigits: min,
    maximumFractionDigits: digits,
  });
}

/**
 * A ratio (0..1 or null) as a percentage with one decimal below 10 %: "4.3 %" ("4,3 %"
 * in pt-PT), "50 %".
 * @param {number | null | undefined} ratio
 * @param {string} [lang] "en" or "pt"
 * @returns {string}
 */
export function formatPercent(ratio, lang = "en") {
  if (typeof ratio !== "number" || !Number.isFinite(ratio)) return "–";
  const pct = ratio * 100;
  return `${pct < 10 && pct > 0 ? decimal(pct, lang, 1, 1) : Math.round(pct)} %`;
}

/**
 * A duration in seconds (millisecond precision), short and as precise as is useful:
 * "4 ms", "350 ms", "59.7 s" ("59,7 s" in pt-PT), "12 min 5 s", "1 h 30 min", "2 d 4 h";
 * a dash when unknown.
 * @param {number | null | undefined} seconds
 * @param {string} [lang] "en" or "pt"
 * @returns {string}
 */
export function formatDuration(seconds, lang = "en") {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "–";
  const value = Math.max(0, seconds);
  const ms = Math.round(value * 1000);
  if (ms < 1000) return `${ms} ms`;
  const tenths = Math.round(value * 10);
  if (tenths < 600) return `${decimal(tenths / 10, lang, 1)} s`;
  const s = Math.round(value);
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return s % 60 ? `${minutes} min ${s % 60} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

/**
 * Seconds from an RFC 3339 time to `nowMs` (never negative; null when unparseable).
 * @param {string} iso
 * @param {number} nowMs
 * @returns {number | null}
 */
export function secondsSince(iso, nowMs) {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return null;
  return Math.max(0, (nowMs - then) / 1000);
}

/**
 * An RFC 3339 time as a date and time in UTC, saying so, in the page's language:
 * "29/11/2026, 14:03:05 UTC". UTC everywhere in the Desk: the trend's days, Ops' logs and
 * the alerts use it, and a team in several zones reads the same time.
 * @param {string} iso
 * @param {string} lang "en" or "pt"
 * @returns {string}
 */
export function formatDateTime(iso, lang) {
  const then = new Date(iso);
  if (Number.isNaN(then.getTime())) return String(iso);
  const text = then.toLocaleString(localeOf(lang), {
    timeZone: "UTC",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  return `${text} UTC`;
}

/**
 * Event data as one compact line of text (never HTML): key=value pairs, long values cut.
 * @param {unknown} data
 * @param {number} [limit]
 * @returns {string}
 */
export function summariseData(data, limit = 160) {
  if (data === null || typeof data !== "object") return data === undefined ? "" : String(data);
  const parts = [];
  for (const [key, value] of Object.entries(data)) {
    if (key === "session_id") continue;
    const text = typeof value === "string" ? value : JSON.stringify(value);
    parts.push(`${key}=${text}`);
  }
  const line = parts.join(" · ");
  return line.length > limit ? `${line.slice(0, limit - 1)}…` : line;
}

/**
 * A change as a signed figure in the language's notation: "+12", "−3" (a minus sign),
 * "±0", "−2,7" in pt-PT; empty when unknown.
 * @param {number | null | undefined} value
 * @param {string} [lang] "en" or "pt"
 * @returns {string}
 */
export function formatChange(value, lang = "en") {
  if (typeof value !== "number" || !Number.isFinite(value)) return "";
  const rounded = Math.round(value * 10) / 10;
  if (rounded === 0) return "±0";
  return `${rounded > 0 ? "+" : "\u2212"}${decimal(Math.abs(rounded), lang, 1)}`;
}
