// Labels in European Portuguese and English, chosen from the browser's languages.

const MESSAGES = {
  en: {
    title: "Set up your mail domain",
    session: "Session",
    restart: "Start again",
    step_domain: "Domain",
    step_dns: "DNS records",
    step_account: "Mail account",
    domain_label: "Your domain",
    domain_hint: "The domain your addresses will end in, e.g. example.com.",
    validate: "Check domain",
    dns_intro: "We add the mail records to your Cloudflare zone.",
    apply_dns: "Publish DNS records",
    col_type: "Type",
    col_name: "Name",
    col_content: "Content",
    col_state: "State",
    state_applied: "added",
    state_skipped: "already there",
    state_held: "written once your mailbox exists (next step)",
    plan_loading: "Reading your DNS zone…",
    plan_title: "What publishing will do",
    manual_title: "Your domain has no Cloudflare zone with us. Add these records at your DNS host (copy each value):",
    manual_again: "Remember: your mail works only once these records are at your DNS host:",
    dkim_pending: "DKIM signing: our team creates your domain's own key after your mailbox exists and publishes it; until then mail goes out unsigned.",
    copy: "Copy",
    copied: "Copied",
    copy_failed: "Select and copy by hand",
    purpose_mx: "Incoming mail (MX)",
    purpose_spf: "Allowed senders (SPF)",
    purpose_dmarc: "Policy for failed checks (DMARC)",
    purpose_autodiscover: "Automatic set-up of mail apps (autodiscover)",
    action_create: "We add {record}.",
    action_present: "Already there: {record}. Nothing to change.",
    action_merge: "We add our server to your existing record, keeping your other senders: {record}.",
    action_conflict: "We would publish {record}, but something else is there.",
    conflict_choice: "Your choice",
    conflict_mx_other_provider: "Your mail now goes to another provider: {existing}.",
    conflict_dmarc_other_policy: "You already have a DMARC policy: {existing}.",
    conflict_name_taken: "The name is already used: {existing}.",
    conflict_spf_multiple: "You have more than one SPF record, which receivers treat as an error: {existing}.",
    conflict_spf_too_many_lookups: "Adding our server would pass SPF's limit of 10 lookups: {existing}.",
    keep_mx_other_provider: "Keep it: mail keeps going to your current provider and the new mailboxes receive nothing.",
    replace_mx_other_provider: "Replace it: once your mailbox exists (next step) mail comes here, to it and to postmaster@ and dmarc@; every other address at your domain stops receiving mail until it is created here.",
    keep_dmarc_other_policy: "Keep it: receivers go on applying your current policy.",
    replace_dmarc_other_policy: "Replace it: receivers quarantine mail that fails the checks.",
    keep_name_taken: "Keep it: mail apps must be set up by hand.",
    replace_name_taken: "Replace it: Outlook (Exchange Web Services) and phones using Exchange ActiveSync can find the new server by themselves, once AutoDiscover is turned on for your domain; other mail apps are set up by hand.",
    keep_spf_multiple: "Keep them: receivers may reject or mark your mail as spam.",
    replace_spf_multiple: "Replace them with one record naming our server only: other services that send as you may be rejected.",
    keep_spf_too_many_lookups: "Keep it: mail we send for you may be marked as spam.",
    replace_spf_too_many_lookups: "Replace it with ours: other services that send as you may be rejected.",
    state_merged: "merged into your record",
    state_replaced: "replaced (you confirmed)",
    state_kept: "kept as it was",
    state_manual: "add at your DNS host",
    support_ref: "Support reference: {ref}.",
    // Issue 23 (live path): when the MX is written, zones we cannot write, SPF includes
    // that do not resolve, Cloudflare's rate limit, a retried account step.
    when_after_account: "Written only once your mailbox exists, at the end of the next step: until then your mail keeps arriving where it does today.",
    manual_reason_zone_not_active: "Your domain's Cloudflare zone ({zone}) is {status}, not active, so records written there would not be seen: add these records where your domain's DNS is answered.",
    manual_reason_zone_not_full: "Your domain's Cloudflare zone ({zone}) is a {type} setup: its DNS is answered by another provider, so add these records there.",
    conflict_spf_unresolvable: "Your SPF record names a service whose SPF cannot be read now: {existing}.",
    keep_spf_unresolvable: "Keep it: mail we send for you may be marked as spam.",
    replace_spf_unresolvable: "Replace it with ours: other services that send as you may be rejected.",
    error_provider_busy: "Our DNS provider asks us to slow down. Nothing was lost: try again in a few minutes.",
    error_address_fixed: "This setup already created an admin address on the mail server: finish with that same address.",
    error_generic: "Something went wrong on our side. Please try again in a few minutes.",
    error_invalid_input: "Please check what you typed.",
    error_domain_invalid: "This is not a domain name we can use. Check the spelling, e.g. example.pt.",
    error_domain_not_in_dns: "This domain does not exist in DNS yet. Check it is registered.",
    error_domain_fixed: "DNS records were already published for another domain in this session. Press “Start again” to set up a different domain.",
    error_session_done: "This setup is already complete. Press “Start again” for another domain.",
    error_out_of_order: "Please complete the previous step first.",
    error_password_rule: "The password must have 8 to 64 characters (the mail server's limit).",
    error_password_refused: "The mail server did not accept this password. Choose a longer, less common one.",
    error_local_part_rule: "Use letters, digits and . _ + - only, starting and ending with a letter or digit.",
    error_address_taken: "This address already exists. Choose another one.",
    error_domain_taken: "This domain is already set up on our mail service. Please contact support.",
    error_refused: "The mail server refused this request. Please check what you typed.",
    error_provider_failed: "Our mail or DNS provider did not complete the step. Please try again in a few minutes.",
    error_provider_timeout: "Our provider did not answer in time. Please try again.",
    local_label: "Administrator address",
    name_label: "Display name",
    password_label: "Password",
    password_hint: "At least 8 characters. We never store it.",
    create_account: "Create account",
    done_title: "All set",
    working: "Working…",
    domain_ok: "Domain {domain} is valid.",
    dns_applied: "{count} record(s) added in zone {zone}.",
    dns_nothing: "All mail records were already in zone {zone}.",
    dns_no_zone: "No Cloudflare zone for {domain}: add the records at your DNS host. You can go on.",
    account_ok: "Mailbox {account} is ready (plan {plan}, {quota} MB).",
    network_error: "The portal could not be reached. Check your connection and try again.",
    required: "Please fill in this field.",
  },
  pt: {
    title: "Configure o seu domínio de correio",
    session: "Sessão",
    restart: "Recomeçar",
    step_domain: "Domínio",
    step_dns: "Registos DNS",
    step_account: "Conta de correio",
    domain_label: "O seu domínio",
    domain_hint: "O domínio em que terminam os seus endereços, p. ex. exemplo.pt.",
    validate: "Verificar domínio",
    dns_intro: "Adicionamos os registos de correio à sua zona Cloudflare.",
    apply_dns: "Publicar registos DNS",
    col_type: "Tipo",
    col_name: "Nome",
    col_content: "Conteúdo",
    col_state: "Estado",
    state_applied: "adicionado",
    state_skipped: "já existia",
    state_held: "escrito quando a sua caixa existir (passo seguinte)",
    plan_loading: "A ler a sua zona DNS…",
    plan_title: "O que a publicação vai fazer",
    manual_title: "O seu domínio não tem uma zona Cloudflare connosco. Adicione estes registos no seu fornecedor de DNS (copie cada valor):",
    manual_again: "Lembre-se: o correio só funciona quando estes registos estiverem no seu fornecedor de DNS:",
    dkim_pending: "Assinatura DKIM: a nossa equipa cria a chave própria do seu domínio depois de a caixa de correio existir e publica-a; até lá o correio sai sem assinatura.",
    copy: "Copiar",
    copied: "Copiado",
    copy_failed: "Selecione e copie à mão",
    purpose_mx: "Correio recebido (MX)",
    purpose_spf: "Remetentes autorizados (SPF)",
    purpose_dmarc: "Política para verificações falhadas (DMARC)",
    purpose_autodiscover: "Configuração automática das aplicações de correio (autodiscover)",
    action_create: "Adicionamos {record}.",
    action_present: "Já existe: {record}. Nada a alterar.",
    action_merge: "Juntamos o nosso servidor ao seu registo, mantendo os seus outros remetentes: {record}.",
    action_conflict: "Publicaríamos {record}, mas já existe outra coisa.",
    conflict_choice: "A sua escolha",
    conflict_mx_other_provider: "O seu correio vai hoje para outro fornecedor: {existing}.",
    conflict_dmarc_other_policy: "Já tem uma política DMARC: {existing}.",
    conflict_name_taken: "O nome já está a ser usado: {existing}.",
    conflict_spf_multiple: "Tem mais de um registo SPF, o que os destinatários tratam como erro: {existing}.",
    conflict_spf_too_many_lookups: "Juntar o nosso servidor passaria o limite de 10 consultas do SPF: {existing}.",
    keep_mx_other_provider: "Manter: o correio continua a ir para o fornecedor atual e as novas caixas não recebem nada.",
    replace_mx_other_provider: "Substituir: depois de criada a sua caixa (passo seguinte) o correio passa a chegar aqui, a ela e a postmaster@ e dmarc@; todos os outros endereços do seu domínio deixam de receber correio até serem criados aqui.",
    keep_dmarc_other_policy: "Manter: os destinatários continuam a aplicar a sua política atual.",
    replace_dmarc_other_policy: "Substituir: os destinatários põem em quarentena o correio que falhe as verificações.",
    keep_name_taken: "Manter: as aplicações de correio têm de ser configuradas à mão.",
    replace_name_taken: "Substituir: o Outlook (Exchange Web Services) e os telemóveis com Exchange ActiveSync podem encontrar sozinhos o novo servidor, quando o AutoDiscover estiver ligado para o seu domínio; as outras aplicações configuram-se à mão.",
    keep_spf_multiple: "Manter: os destinatários podem rejeitar o seu correio ou marcá-lo como spam.",
    replace_spf_multiple: "Substituir por um só registo só com o nosso servidor: outros serviços que enviam em seu nome podem ser rejeitados.",
    keep_spf_too_many_lookups: "Manter: o correio que enviamos por si pode ser marcado como spam.",
    replace_spf_too_many_lookups: "Substituir pelo nosso: outros serviços que enviam em seu nome podem ser rejeitados.",
    state_merged: "juntado ao seu registo",
    state_replaced: "substituído (confirmou)",
    state_kept: "mantido como estava",
    state_manual: "adicione no seu fornecedor de DNS",
    support_ref: "Referência para o suporte: {ref}.",
    // Issue 23 (caminho real): quando o MX é escrito, zonas onde não escrevemos, SPF que
    // não se consegue ler, o limite da Cloudflare, o passo da conta repetido.
    when_after_account: "Só é escrito depois de a sua caixa existir, no fim do passo seguinte: até lá o correio continua a chegar onde chega hoje.",
    manual_reason_zone_not_active: "A zona Cloudflare do seu domínio ({zone}) está {status}, não ativa, e os registos lá escritos não seriam vistos: adicione estes registos onde o DNS do seu domínio responde.",
    manual_reason_zone_not_full: "A zona Cloudflare do seu domínio ({zone}) é do tipo {type}: o DNS responde noutro fornecedor, por isso adicione lá estes registos.",
    conflict_spf_unresolvable: "O seu registo SPF inclui um serviço cujo SPF não se consegue ler agora: {existing}.",
    keep_spf_unresolvable: "Manter: o correio que enviamos por si pode ser marcado como spam.",
    replace_spf_unresolvable: "Substituir pelo nosso: outros serviços que enviam em seu nome podem ser rejeitados.",
    error_provider_busy: "O nosso fornecedor de DNS pede-nos para abrandar. Nada se perdeu: tente de novo dentro de alguns minutos.",
    error_address_fixed: "Esta configuração já criou um endereço de administração no servidor de correio: conclua com esse mesmo endereço.",
    error_generic: "Ocorreu um erro do nosso lado. Tente de novo dentro de alguns minutos.",
    error_invalid_input: "Verifique o que escreveu.",
    error_domain_invalid: "Este nome de domínio não pode ser usado. Verifique a ortografia, p. ex. exemplo.pt.",
    error_domain_not_in_dns: "Este domínio ainda não existe no DNS. Verifique se está registado.",
    error_domain_fixed: "Já foram publicados registos DNS para outro domínio nesta sessão. Carregue em “Recomeçar” para configurar outro domínio.",
    error_session_done: "Esta configuração já está concluída. Carregue em “Recomeçar” para outro domínio.",
    error_out_of_order: "Conclua primeiro o passo anterior.",
    error_password_rule: "A palavra-passe deve ter de 8 a 64 caracteres (o limite do servidor de correio).",
    error_password_refused: "O servidor de correio não aceitou esta palavra-passe. Escolha uma mais longa e menos comum.",
    error_local_part_rule: "Use apenas letras, algarismos e . _ + -, a começar e a acabar numa letra ou algarismo.",
    error_address_taken: "Este endereço já existe. Escolha outro.",
    error_domain_taken: "Este domínio já está configurado no nosso serviço de correio. Contacte o suporte.",
    error_refused: "O servidor de correio recusou o pedido. Verifique o que escreveu.",
    error_provider_failed: "O nosso fornecedor de correio ou DNS não concluiu o passo. Tente de novo dentro de alguns minutos.",
    error_provider_timeout: "O nosso fornecedor não respondeu a tempo. Tente de novo.",
    local_label: "Endereço do administrador",
    name_label: "Nome a apresentar",
    password_label: "Palavra-passe",
    password_hint: "Pelo menos 8 caracteres. Nunca a guardamos.",
    create_account: "Criar conta",
    done_title: "Está tudo pronto",
    working: "A processar…",
    domain_ok: "O domínio {domain} é válido.",
    dns_applied: "{count} registo(s) adicionado(s) na zona {zone}.",
    dns_nothing: "Todos os registos de correio já estavam na zona {zone}.",
    dns_no_zone: "Não há zona Cloudflare para {domain}: adicione os registos no seu fornecedor de DNS. Pode continuar.",
    account_ok: "A caixa de correio {account} está pronta (plano {plan}, {quota} MB).",
    network_error: "Não foi possível contactar o portal. Verifique a ligação e tente de novo.",
    required: "Preencha este campo.",
  },
};

/**
 * The language to use: "pt" when any preferred browser language is Portuguese, else "en".
 * @param {readonly string[]} languages navigator.languages
 * @returns {"pt" | "en"}
 */
export function pickLanguage(languages) {
  for (const lang of languages) {
    const code = lang.toLowerCase();
    if (code.startsWith("pt")) return "pt";
    if (code.startsWith("en")) return "en";
  }
  return "en";
}

const LANG = pickLanguage(navigator.languages || [navigator.language || "en"]);

/**
 * A label in the page's language, with {name} placeholders filled in (as plain text).
 * @param {string} key
 * @param {Record<string, string | number>} [values]
 * @returns {string}
 */
export function t(key, values = {}) {
  const template = MESSAGES[LANG][key] ?? MESSAGES.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

/** Translate every [data-i18n] element's text and set the document language. */
export function translatePage() {
  document.documentElement.lang = LANG === "pt" ? "pt-PT" : "en";
  document.title = t("title");
  for (const element of document.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
}
