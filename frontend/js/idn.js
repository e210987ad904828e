// Internationalised domain names as people read them. The Portal sends a session's domain
// in its ASCII form (vm112_portal/domains.py: `xn--` labels), and Ops keeps it so; the
// Desk shows each `xn--` label in Unicode, as the timeline's sentences do from the events'
// `domain_unicode` and as Ops' search reads both forms (vm122_ops/tickets/search.py).

// RFC 3492 (Punycode) section 5, the parameters IDNA uses.
const BASE = 36;
const T_MIN = 1;
const T_MAX = 26;
const SKEW = 38;
const DAMP = 700;
const INITIAL_BIAS = 72;
const INITIAL_N = 128;
const MAX_CODE_POINT = 0x10ffff;

/**
 * RFC 3492 section 3.4, bias adaptation.
 * @param {number} delta
 * @param {number} numPoints
 * @param {boolean} firstTime
 * @returns {number}
 */
function adapt(delta, numPoints, firstTime) {
  let d = firstTime ? Math.floor(delta / DAMP) : delta >> 1;
  d += Math.floor(d / numPoints);
  let k = 0;
  while (d > ((BASE - T_MIN) * T_MAX) >> 1) {
    d = Math.floor(d / (BASE - T_MIN));
    k += BASE;
  }
  return k + Math.floor(((BASE - T_MIN + 1) * d) / (d + SKEW));
}

/**
 * A base-36 digit's value (a-z: 0-25, 0-9: 26-35), or -1.
 * @param {number} code
 * @returns {number}
 */
function digit(code) {
  if (code >= 0x61 && code <= 0x7a) return code - 0x61;
  if (code >= 0x41 && code <= 0x5a) return code - 0x41;
  if (code >= 0x30 && code <= 0x39) return code - 22;
  return -1;
}

/**
 * RFC 3492 section 6.2, the decoding procedure: a Punycode string (a label without its
 * `xn--`) to its code points, or null when it is not valid Punycode.
 * @param {string} input
 * @returns {string | null}
 */
export function decodePunycode(input) {
  const end = input.lastIndexOf("-");
  const output = [];
  for (let j = 0; j < Math.max(end, 0); j += 1) {
    const code = input.charCodeAt(j);
    if (code >= 0x80) return null;
    output.push(code);
  }
  let n = INITIAL_N;
  let i = 0;
  let bias = INITIAL_BIAS;
  for (let pos = end > 0 ? end + 1 : 0; pos < input.length; ) {
    const oldi = i;
    let w = 1;
    for (let k = BASE; ; k += BASE) {
      if (pos >= input.length) return null; // incomplete
      const value = digit(input.charCodeAt(pos));
      pos += 1;
      if (value < 0) return null;
      i += value * w;
      if (i > MAX_CODE_POINT * (output.length + 1)) return null; // overflow
      const t = k <= bias ? T_MIN : k >= bias + T_MAX ? T_MAX : k - bias;
      if (value < t) break;
      w *= BASE - t;
    }
    bias = adapt(i - oldi, output.length + 1, oldi === 0);
    n += Math.floor(i / (output.length + 1));
    i %= output.length + 1;
    if (n > MAX_CODE_POINT || (n >= 0xd800 && n <= 0xdfff)) return null;
    output.splice(i, 0, n);
    i += 1;
  }
  return String.fromCodePoint(...output);
}

// A label people could misread: Latin letters beside Cyrillic or Greek ones (the mixed
// scripts browsers also keep in ASCII), or any control, format or unassigned character.
const LATIN = /\p{Script=Latin}/u;
const LOOK_ALIKE = /[\p{Script=Cyrillic}\p{Script=Greek}]/u;
const INVISIBLE = /\p{C}/u;

/**
 * One label as people read it: an `xn--` label decoded, unless it does not decode to
 * something with a non-ASCII character, or reads as a look-alike; any other label as sent.
 * @param {string} label
 * @returns {string}
 */
function unicodeLabel(label) {
  if (!/^xn--/i.test(label)) return label;
  const decoded = decodePunycode(label.slice(4).toLowerCase());
  if (decoded === null || !/[^\x00-\x7f]/.test(decoded) || INVISIBLE.test(decoded)) return label;
  if (LATIN.test(decoded) && LOOK_ALIKE.test(decoded)) return label;
  return decoded.normalize("NFC");
}

/**
 * A domain with its `xn--` labels in Unicode ("xn--mnchen-3ya.de" reads "münchen.de").
 * @param {string} domain
 * @returns {string}
 */
export function unicodeDomain(domain) {
  return String(domain).split(".").map(unicodeLabel).join(".");
}
