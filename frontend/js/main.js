// The Desk's entry point: one init list binds behaviour to data-* attributes.

import { checkSession } from "./api.js";
import { pickLanguage, translator } from "./i18n.js";
import { LiveStream } from "./live.js";
import { NewFailures } from "./newFailures.js";
import { initBanner } from "./views/banner.js";
import { initBreakdown } from "./views/breakdown.js";
import { initCohortList } from "./views/cohortList.js";
import { initDashboard } from "./views/dashboard.js";
import { initFailures } from "./views/failures.js";
import { initLogin } from "./views/login.js";
import { initMailReady } from "./views/mailReady.js";
import { initSearchBox, initSearchPage } from "./views/search.js";
import { initSessionPage } from "./views/session.js";
import { initLiveStatus } from "./views/status.js";
import { initTicketPage } from "./views/ticket.js";
import { initTicketList } from "./views/ticketList.js";

/** @type {[string, (node: any, ctx: any) => void][]} */
const INIT = [
  ["[data-i18n]", (node, ctx) => (node.textContent = ctx.t(node.dataset.i18n))],
  ["[data-i18n-placeholder]", (node, ctx) => (node.placeholder = ctx.t(node.dataset.i18nPlaceholder))],
  ["[data-i18n-label]", (node, ctx) => node.setAttribute("aria-label", ctx.t(node.dataset.i18nLabel))],
  ["[data-search-input]", initSearchBox],
  ["[data-search-page]", initSearchPage],
  ["[data-login]", initLogin],
  ["[data-dashboard]", initDashboard],
  ["[data-dashboard]", initFailures],
  ["[data-dashboard]", initMailReady],
  ["[data-dashboard]", initBreakdown],
  ["[data-ticket-page]", initTicketPage],
  ["[data-session-page]", initSessionPage],
  ["[data-tickets-page]", initTicketList],
  ["[data-cohort-page]", initCohortList],
  ["[data-live-status]", initLiveStatus],
  ["[data-banner]", initBanner],
];

// Each page's tab title in the page's language (the served <title> is English); a view
// that knows more (a ticket, a session, a list's filter) sets its own afterwards.
const TITLES = [
  ["[data-dashboard]", "app.title"],
  ["[data-tickets-page]", "tickets.title"],
  ["[data-ticket-page]", "tickets.title"],
  ["[data-search-page]", "search.title"],
  ["[data-session-page]", "session.title"],
  ["[data-login]", "login.title"],
];

function start() {
  const lang = pickLanguage(navigator.languages || [navigator.language]);
  document.documentElement.lang = lang === "pt" ? "pt-PT" : "en";
  const live = "live" in document.body.dataset ? new LiveStream({ probe: checkSession }) : null;
  const ctx = { lang, t: translator(lang), now: () => Date.now(), live };
  const titled = TITLES.find(([selector]) => document.querySelector(selector));
  if (titled) document.title = ctx.t(titled[1]);
  if (live) {
    // New failures: highlighted in their rows and counted in the title until seen.
    const newFailures = new NewFailures({ doc: document, win: window, t: ctx.t });
    newFailures.watch();
    live.on("onboard", (message) => newFailures.arrive(message));
  }
  for (const [selector, init] of INIT) {
    for (const node of document.querySelectorAll(selector)) init(node, ctx);
  }
  if (live) live.start();
  window.addEventListener("pagehide", () => live && live.stop());
  window.addEventListener("pageshow", (event) => event.persisted && live && live.start());
}

start();
