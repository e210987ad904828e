// Labels in English and European Portuguese, chosen from the browser's languages.

const EN = {
  "app.title": "Desk",
  "nav.dashboard": "Dashboard",
  "nav.tickets": "Tickets",
  "nav.logout": "Log out",
  "live.connecting": "Connecting…",
  "live.live": "Live",
  "live.reconnecting": "Reconnecting…",
  "funnel.title": "Onboarding funnel",
  "funnel.window": "Window",
  "funnel.cohort": "Sessions started: {n}",
  "funnel.ofStarted": "{p} of started",
  "funnel.ofPrevious": "{p} from previous step",
  "funnel.median": "median {d} to next",
  "funnel.failed": "Failed sessions, by the step that failed",
  "funnel.failedTotal": "Failed: {n}",
  "hours.24": "24 h",
  "hours.48": "48 h",
  "hours.168": "7 d",
  "stage.none": "no stage",
  "stage.started": "Started",
  "stage.domain_validated": "Domain validated",
  "stage.dns_applied": "DNS applied",
  "stage.account_created": "Account created",
  "stage.infra_synced": "Infra synced",
  "stage.completed": "Completed",
  "banner.title": "Needs attention now",
  "banner.portal_silent": "No onboarding has started for {minutes} min (alert at {threshold_minutes} min): is the Portal up and delivering?",
  "banner.failure_spike": "Failure spike: {failed} failures for {started} sessions started in the last {minutes} min.",
  "banner.code": "{code} at {step}: {n}.",
  "banner.stuck_sessions": "{stuck} sessions are stuck (alert at {threshold}).",
  "banner.sessions": "Sessions concerned",
  "step.started": "Start",
  "step.domain_validated": "Domain validation",
  "step.dns_applied": "DNS records",
  "step.account_created": "Account creation",
  "step.infra_synced": "Infrastructure sync",
  "step.completed": "Completion",
  "active.title": "Active sessions",
  "active.domain": "Domain",
  "active.stage": "Stage",
  "active.last": "Last event",
  "active.since": "Idle for",
  "active.stuck": "stuck",
  "active.empty": "No active sessions in this window.",
  "tickets.title": "Tickets",
  "tickets.recent": "Recent tickets",
  "tickets.id": "#",
  "tickets.domain": "Domain",
  "tickets.status": "Status",
  "tickets.tags": "Tags",
  "tickets.updated": "Updated",
  "tickets.empty": "No tickets.",
  "tickets.more": "Load more",
  "tickets.filter": "Filter",
  "tickets.all": "All",
  "tickets.anyTag": "Any tag",
  "status.open": "open",
  "status.closed": "closed",
  "status.active": "active",
  "status.completed": "completed",
  "status.failed": "failed",
  "ticket.session": "Session",
  "ticket.subject": "Subject",
  "ticket.timeline": "Timeline",
  "ticket.notFound": "This ticket does not exist.",
  "session.title": "Session",
  "session.filter": "Event type",
  "session.allTypes": "All event types",
  "session.notFound": "This session does not exist.",
  "timeline.empty": "Nothing yet.",
  "timeline.note": "Automatic note",
  "timeline.noReason": "no reason given",
  "timeline.dnsManual": "DNS left to the customer: check the mail records are published",
  "timeline.dkimPending": "DKIM pending, to do: {steps}",
  "login.title": "Operator login",
  "login.token": "Operator token",
  "login.submit": "Log in",
  "login.invalid": "That token is not right.",
  "login.throttled": "Too many attempts. Wait a minute and try again.",
  "error.load": "Could not load the data; retrying when the connection is back.",
};

const PT = {
  "app.title": "Balcão",
  "nav.dashboard": "Painel",
  "nav.tickets": "Pedidos",
  "nav.logout": "Terminar sessão",
  "live.connecting": "A ligar…",
  "live.live": "Em direto",
  "live.reconnecting": "A religar…",
  "funnel.title": "Funil de adesão",
  "funnel.window": "Janela",
  "funnel.cohort": "Sessões iniciadas: {n}",
  "funnel.ofStarted": "{p} das iniciadas",
  "funnel.ofPrevious": "{p} do passo anterior",
  "funnel.median": "mediana {d} até ao seguinte",
  "funnel.failed": "Sessões falhadas, pelo passo que falhou",
  "funnel.failedTotal": "Falhadas: {n}",
  "hours.24": "24 h",
  "hours.48": "48 h",
  "hours.168": "7 dias",
  "stage.none": "sem etapa",
  "stage.started": "Iniciada",
  "stage.domain_validated": "Domínio validado",
  "stage.dns_applied": "DNS aplicado",
  "stage.account_created": "Conta criada",
  "stage.infra_synced": "Infraestrutura sincronizada",
  "stage.completed": "Concluída",
  "banner.title": "Requer atenção agora",
  "banner.portal_silent": "Nenhuma adesão começou há {minutes} min (alerta aos {threshold_minutes} min): o Portal está a funcionar e a entregar?",
  "banner.failure_spike": "Pico de falhas: {failed} falhas para {started} sessões iniciadas nos últimos {minutes} min.",
  "banner.code": "{code} em {step}: {n}.",
  "banner.stuck_sessions": "{stuck} sessões estão paradas (alerta aos {threshold}).",
  "banner.sessions": "Sessões em causa",
  "step.started": "Início",
  "step.domain_validated": "Validação do domínio",
  "step.dns_applied": "Registos DNS",
  "step.account_created": "Criação da conta",
  "step.infra_synced": "Sincronização da infraestrutura",
  "step.completed": "Conclusão",
  "active.title": "Sessões ativas",
  "active.domain": "Domínio",
  "active.stage": "Etapa",
  "active.last": "Último evento",
  "active.since": "Parada há",
  "active.stuck": "encravada",
  "active.empty": "Não há sessões ativas nesta janela.",
  "tickets.title": "Pedidos",
  "tickets.recent": "Pedidos recentes",
  "tickets.id": "n.º",
  "tickets.domain": "Domínio",
  "tickets.status": "Estado",
  "tickets.tags": "Etiquetas",
  "tickets.updated": "Atualizado",
  "tickets.empty": "Não há pedidos.",
  "tickets.more": "Ver mais",
  "tickets.filter": "Filtrar",
  "tickets.all": "Todos",
  "tickets.anyTag": "Qualquer etiqueta",
  "status.open": "aberto",
  "status.closed": "fechado",
  "status.active": "ativa",
  "status.completed": "concluída",
  "status.failed": "falhada",
  "ticket.session": "Sessão",
  "ticket.subject": "Assunto",
  "ticket.timeline": "Cronologia",
  "ticket.notFound": "Este pedido não existe.",
  "session.title": "Sessão",
  "session.filter": "Tipo de evento",
  "session.allTypes": "Todos os tipos",
  "session.notFound": "Esta sessão não existe.",
  "timeline.empty": "Ainda nada.",
  "timeline.note": "Nota automática",
  "timeline.noReason": "sem motivo indicado",
  "timeline.dnsManual": "DNS a cargo do cliente: verificar que os registos de correio estão publicados",
  "timeline.dkimPending": "DKIM pendente, a fazer: {steps}",
  "login.title": "Entrada do operador",
  "login.token": "Chave do operador",
  "login.submit": "Entrar",
  "login.invalid": "Essa chave não está certa.",
  "login.throttled": "Demasiadas tentativas. Espere um minuto e tente de novo.",
  "error.load": "Não foi possível carregar os dados; nova tentativa quando a ligação voltar.",
};

export const DICTIONARIES = { en: EN, pt: PT };

/**
 * The label language for a list of browser languages: "pt" for any Portuguese, else "en".
 * @param {readonly string[]} languages e.g. navigator.languages
 * @returns {"en" | "pt"}
 */
export function pickLanguage(languages) {
  for (const tag of languages || []) {
    const primary = String(tag).toLowerCase().split("-")[0];
    if (primary === "pt") return "pt";
    if (primary === "en") return "en";
  }
  return "en";
}

/**
 * A translate function for one language; `{name}` placeholders are filled from `vars`.
 * Unknown keys fall back to English, then to the key itself.
 * @param {"en" | "pt"} lang
 * @returns {(key: string, vars?: Record<string, string | number>) => string}
 */
export function translator(lang) {
  const dict = DICTIONARIES[lang] || EN;
  return (key, vars = {}) => {
    const template = dict[key] ?? EN[key] ?? key;
    return template.replace(/\{(\w+)\}/g, (whole, name) =>
      name in vars ? String(vars[name]) : whole,
    );
  };
}

/**
 * Translate `key`, or name it as-is when it is unknown (stage names, statuses).
 * @param {(key: string) => string} t
 * @param {string} prefix
 * @param {string | null | undefined} value
 * @returns {string}
 */
export function label(t, prefix, value) {
  const key = `${prefix}.${value ?? "none"}`;
  const text = t(key);
  return text === key ? String(value ?? "") : text;
}
