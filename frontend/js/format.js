// Formatting of numbers, durations and times for the Desk's labels.

/**
 * A ratio (0..1 or null) as a percentage with one decimal below 10 %.
 * @param {number | null | undefined} ratio
 * @returns {string}
 */
export function formatPercent(ratio) {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return "–";
  const pct = ratio * 100;
  return `${pct < 10 && pct > 0 ? pct.toFixed(1) : Math.round(pct)} %`;
}

/**
 * A duration in seconds, short: "45 s", "12 min", "3 h 5 min", "2 d 4 h".
 * @param {number | null | undefined} seconds
 * @returns {string}
 */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    const rest = minutes % 60;
    return rest ? `${hours} h ${rest} min` : `${hours} h`;
  }
  const days = Math.floor(hours / 24);
  const rest = hours % 24;
  return rest ? `${days} d ${rest} h` : `${days} d`;
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
 * An RFC 3339 time as a local date and time in the page's language.
 * @param {string} iso
 * @param {string} lang "en" or "pt"
 * @returns {string}
 */
export function formatDateTime(iso, lang) {
  const then = new Date(iso);
  if (Number.isNaN(then.getTime())) return String(iso);
  const locale = lang === "pt" ? "pt-PT" : "en-GB";
  return then.toLocaleString(locale, {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
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
