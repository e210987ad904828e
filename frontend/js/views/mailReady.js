// The dashboard's "mail of completed onboardings" card (GET /api/v1/onboard/mail): beside
// the funnel, how many of the window's completed sessions have working mail, and the list
// of those that do not, with what is missing and how long it has been (docs/desk.md,
// "Mail readiness"). Live: refetched after mail.checked and onboarding.completed events
// (at most once a second), at once on a stream reset, and for the window the dashboard
// shows. Every text through textContent (dom.js `el`).

import { el, fill } from "../dom.js";
import { formatDuration } from "../format.js";
import { domainText } from "../i18n.js";
import { mailItemText } from "../mailCheck.js";
import { liveCard } from "./liveCard.js";

const REFETCH_ON = new Set(["mail.checked", "onboarding.completed"]);

/**
 * The card's figures and its list of sessions whose mail is not ready.
 * @param {HTMLElement} node
 * @param {any} document the mail readiness document
 * @param {{t: Function, lang: string}} ctx
 */
export function renderMailReady(node, document, { t, lang }) {
  const figures = el("p", { class: "mail-figures" }, [
    el("strong", {
      "data-mail-summary": "",
      text: t("mail.summary", { ready: document.mail_ready, completed: document.completed }),
    }),
    el("span", { text: " · " }),
    el("span", {
      "data-mail-not-ready": String(document.mail_not_ready),
      text: t("mail.notReadyCount", { n: document.mail_not_ready }),
    }),
    el("span", { text: " · " }),
    el("span", { "data-mail-unchecked": "", text: t("mail.unchecked", { n: document.unchecked }) }),
  ]);
  const sessions = Array.isArray(document.sessions) ? document.sessions : [];
  if (!sessions.length) {
    fill(node, [figures, el("p", { class: "muted", text: t("mail.none") })]);
    return;
  }
  const rows = sessions.map((s) =>
    el("tr", { "data-mail-session": s.session_id }, [
      el("td", {}, [el("a", { href: `/sessions/${encodeURIComponent(s.session_id)}`, text: domainText(t, s.domain) })]),
      el("td", {}, [
        el(
          "ul",
          { class: "mail-missing" },
          (s.missing || []).map((item) => el("li", { "data-item": String(item.name), text: mailItemText(item, t) })),
        ),
      ]),
      el("td", { class: "num", text: formatDuration(s.waiting_seconds, lang) }),
      el("td", {}, [
        s.ticket_id === null
          ? el("span", { text: "—" })
          : el("a", { href: `/tickets/${s.ticket_id}`, text: `#${s.ticket_id}` }),
      ]),
    ]),
  );
  fill(node, [
    figures,
    el("div", { class: "scroll" }, [
      el("table", { class: "grid", "data-mail-list": "" }, [
        el("thead", {}, [
          el("tr", {}, [
            el("th", { text: t("mail.col.domain") }),
            el("th", { text: t("mail.col.missing") }),
            el("th", { text: t("mail.col.waiting") }),
            el("th", { text: t("mail.col.ticket") }),
          ]),
        ]),
        el("tbody", {}, rows),
      ]),
    ]),
  ]);
}

/**
 * @param {HTMLElement} root the [data-dashboard] element (holds [data-mail-ready] and the
 *   window select [data-window])
 * @param {any} ctx {t, lang, live}
 */
export function initMailReady(root, ctx) {
  const node = root.querySelector("[data-mail-ready]");
  if (!node) return;
  liveCard(root, node, ctx, {
    url: (hours) => `/api/v1/onboard/mail?hours=${hours}`,
    current: (document, hours) => String(document.hours) === hours,
    render: renderMailReady,
    refetchOn: (message) => REFETCH_ON.has(message.event_type),
  });
}
