// The wizard's last page tells the truth about the customer's mail (docs/portal.md, "Mail
// check"): "Ready" only when every item of the mail check is ok; otherwise "Almost there"
// with one line per item still to do and what to do about it: the record to change, the
// table of records for a manual zone (each copyable whole), "Check again", and DKIM done by
// our team with the date. Its texts (pt-PT and English) live here, with the mode texts the
// earlier steps show ([data-mail-i18n]). Text only, never HTML.

import { el } from "./dom.js";
import { pickLanguage } from "./i18n.js";

const TEXTS = {
  en: {
    ready_title: "Ready",
    almost_title: "Almost there",
    ready_line: "Your mail works: MX, SPF, DMARC, DKIM and autodiscover are all in place.",
    almost_line: "Your mailbox exists. Before mail works fully, this is left to do:",
    unknown_line: "Your mailbox exists. We could not check your DNS just now: press “Check again”.",
    item_mx_missing: "Incoming mail: your domain has no MX record. Add this one:",
    item_mx_elsewhere: "Incoming mail still goes to {provider}. Change the MX record to this one (and remove the old one):",
    item_mx_mixed: "Incoming mail is split between {provider} and us. Keep only this MX record:",
    item_spf_missing: "Sending (SPF): add this record:",
    item_spf_without_us: "Sending (SPF): your SPF record does not allow our server. Replace it with this one:",
    item_spf_multiple: "Sending (SPF): your domain has two SPF records, so none works. Keep only one.",
    item_spf_too_many_lookups: "Sending (SPF): your SPF record needs {lookups} DNS lookups, more than the 10 allowed. Our team will contact you.",
    item_dmarc_missing: "Reports and policy (DMARC): add this record:",
    item_dmarc_multiple: "Reports and policy (DMARC): your domain has more than one DMARC record, so none applies. Keep only one.",
    item_dkim_not_created: "Signing (DKIM): done by our team, by {date}. Nothing to do on your side.",
    item_dkim_not_visible: "Signing (DKIM): the key is made; it is not visible in DNS yet. Add this record:",
    item_dkim_not_visible_team: "Signing (DKIM): done by our team; the key is on its way into DNS.",
    item_dkim_mismatch: "Signing (DKIM): the published key is not ours. Our team will fix it.",
    item_autodiscover_missing: "Mail app settings (autodiscover): add this record:",
    item_autodiscover_elsewhere: "Mail app settings (autodiscover) still point to {found}. Change it to this record:",
    item_dns_error: "We could not read part of your DNS just now ({name}). Press “Check again” in a few minutes.",
    item_unknown: "{item}: still to do.",
    manual_table: "Add these records at your DNS host:",
    manual_item: "{label}: add its record from the table below.",
    label_mx: "Incoming mail (MX)",
    label_spf: "Sending (SPF)",
    label_dmarc: "Reports and policy (DMARC)",
    label_dkim: "Signing (DKIM)",
    label_autodiscover: "Mail app settings (autodiscover)",
    col_type: "Type",
    col_name: "Name",
    col_value: "Value",
    col_priority: "Priority",
    copy_record: "Copy",
    copied: "Copied",
    copy_failed: "Select and copy",
    check_again: "Check again",
    checking: "Checking…",
    checked_at: "Last checked {time}.",
    next_check: "We check again by ourselves until it works; next check {time}.",
    check_failed: "The check could not run. Try again in a minute.",
    domain_mode_hint: "If your domain's DNS is not in our Cloudflare account, you add the mail records at your DNS host yourself: we show each record and check it for you.",
    dns_manual_intro: "Your domain has no Cloudflare zone with us, so we cannot publish the records. On the next steps we create your mailbox and show each record to add at your DNS host; we then check them until your mail works.",
    dns_cloudflare_intro: "We add the mail records to your Cloudflare zone.",
    dns_manual_button: "Continue: I will add the records",
  },
  pt: {
    ready_title: "Pronto",
    almost_title: "Quase pronto",
    ready_line: "O seu correio funciona: MX, SPF, DMARC, DKIM e autodiscover estão todos no sítio.",
    almost_line: "A sua caixa de correio existe. Antes de o correio funcionar por completo, falta isto:",
    unknown_line: "A sua caixa de correio existe. Não conseguimos verificar o seu DNS agora: carregue em “Verificar de novo”.",
    item_mx_missing: "Correio recebido: o seu domínio não tem registo MX. Adicione este:",
    item_mx_elsewhere: "O correio recebido ainda vai para {provider}. Mude o registo MX para este (e retire o antigo):",
    item_mx_mixed: "O correio recebido está dividido entre {provider} e nós. Mantenha só este registo MX:",
    item_spf_missing: "Envio (SPF): adicione este registo:",
    item_spf_without_us: "Envio (SPF): o seu registo SPF não autoriza o nosso servidor. Substitua-o por este:",
    item_spf_multiple: "Envio (SPF): o seu domínio tem dois registos SPF, por isso nenhum funciona. Mantenha só um.",
    item_spf_too_many_lookups: "Envio (SPF): o seu registo SPF precisa de {lookups} consultas DNS, mais do que as 10 permitidas. A nossa equipa vai contactá-lo.",
    item_dmarc_missing: "Relatórios e política (DMARC): adicione este registo:",
    item_dmarc_multiple: "Relatórios e política (DMARC): o seu domínio tem mais de um registo DMARC, por isso nenhum se aplica. Mantenha só um.",
    item_dkim_not_created: "Assinatura (DKIM): feita pela nossa equipa, até {date}. Não tem nada a fazer.",
    item_dkim_not_visible: "Assinatura (DKIM): a chave está criada; ainda não é visível no DNS. Adicione este registo:",
    item_dkim_not_visible_team: "Assinatura (DKIM): feita pela nossa equipa; a chave está a caminho do DNS.",
    item_dkim_mismatch: "Assinatura (DKIM): a chave publicada não é a nossa. A nossa equipa vai corrigi-la.",
    item_autodiscover_missing: "Configuração das aplicações de correio (autodiscover): adicione este registo:",
    item_autodiscover_elsewhere: "A configuração das aplicações de correio (autodiscover) ainda aponta para {found}. Mude-a para este registo:",
    item_dns_error: "Não conseguimos ler parte do seu DNS agora ({name}). Carregue em “Verificar de novo” daqui a uns minutos.",
    item_unknown: "{item}: ainda por fazer.",
    manual_table: "Adicione estes registos no seu fornecedor de DNS:",
    manual_item: "{label}: adicione o registo da tabela abaixo.",
    label_mx: "Correio recebido (MX)",
    label_spf: "Envio (SPF)",
    label_dmarc: "Relatórios e política (DMARC)",
    label_dkim: "Assinatura (DKIM)",
    label_autodiscover: "Configuração das aplicações de correio (autodiscover)",
    col_type: "Tipo",
    col_name: "Nome",
    col_value: "Valor",
    col_priority: "Prioridade",
    copy_record: "Copiar",
    copied: "Copiado",
    copy_failed: "Selecione e copie",
    check_again: "Verificar de novo",
    checking: "A verificar…",
    checked_at: "Última verificação: {time}.",
    next_check: "Voltamos a verificar sozinhos até funcionar; próxima verificação: {time}.",
    check_failed: "Não foi possível verificar. Tente de novo daqui a um minuto.",
    domain_mode_hint: "Se o DNS do seu domínio não estiver na nossa conta Cloudflare, é o próprio a adicionar os registos de correio no seu fornecedor de DNS: mostramos cada registo e verificamo-lo por si.",
    dns_manual_intro: "O seu domínio não tem uma zona Cloudflare connosco, por isso não podemos publicar os registos. Nos passos seguintes criamos a sua caixa de correio e mostramos cada registo a adicionar no seu fornecedor de DNS; depois verificamo-los até o seu correio funcionar.",
    dns_cloudflare_intro: "Adicionamos os registos de correio à sua zona Cloudflare.",
    dns_manual_button: "Continuar: eu adiciono os registos",
  },
};

const LANG = pickLanguage(navigator.languages || [navigator.language || "en"]);

/**
 * A text of this module in the page's language, {name} placeholders filled in.
 * @param {string} key
 * @param {Record<string, string | number>} [values]
 * @returns {string}
 */
export function tm(key, values = {}) {
  const dict = /** @type {Record<string, string>} */ (TEXTS[LANG] || TEXTS.en);
  const template = dict[key] ?? TEXTS.en[/** @type {keyof typeof TEXTS.en} */ (key)] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

/** Fill every [data-mail-i18n] element with its text (the mode texts of earlier steps). */
export function translateMailTexts() {
  for (const node of document.querySelectorAll("[data-mail-i18n]")) {
    node.textContent = tm(/** @type {HTMLElement} */ (node).dataset.mailI18n || "");
  }
}

/**
 * A date and time in the page's language, e.g. "8 Dec 2026, 15:30".
 * @param {string} iso
 * @returns {string}
 */
function when(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(LANG === "pt" ? "pt-PT" : "en-GB", {
    dateStyle: "medium",
    timeStyle: "short",
  });
}

/**
 * A whole record as one line to paste at a DNS host: name, type, (priority) and value.
 * @param {Record<string, unknown>} record
 * @returns {string}
 */
export function wholeRecord(record) {
  const priority = record.priority === undefined ? "" : ` ${record.priority}`;
  return `${record.name} ${record.type}${priority} ${record.content}`;
}

/**
 * The copy button of one record: copies the whole record (name, type, priority, value).
 * @param {Record<string, unknown>} record
 * @returns {HTMLElement}
 */
function copyButton(record) {
  const button = el("button", tm("copy_record"));
  button.setAttribute("type", "button");
  button.className = "copy";
  button.setAttribute("data-copy", wholeRecord(record));
  button.addEventListener("click", () => {
    const clip = navigator.clipboard;
    const done = clip ? clip.writeText(wholeRecord(record)) : Promise.reject(new Error("none"));
    done.then(
      () => (button.textContent = tm("copied")),
      () => (button.textContent = tm("copy_failed")),
    );
  });
  return button;
}

/**
 * The records to publish as a table: type, name, value (priority), each row copyable whole.
 * @param {Record<string, unknown>[]} records
 * @returns {HTMLElement}
 */
export function recordsTable(records) {
  const table = el("table");
  table.className = "records mail-records";
  table.setAttribute("data-mail-records", "");
  const head = el("tr");
  for (const key of ["col_type", "col_name", "col_value", "col_priority"]) head.append(el("th", tm(key)));
  head.append(el("th"));
  const thead = el("thead");
  thead.append(head);
  const body = el("tbody");
  for (const record of records) {
    const row = el("tr");
    row.setAttribute("data-record", String(record.type));
    const value = el("td");
    value.append(el("code", String(record.content)));
    const copy = el("td");
    copy.append(copyButton(record));
    row.append(
      el("td", String(record.type)),
      el("td", String(record.name)),
      value,
      el("td", record.priority === undefined ? "" : String(record.priority)),
      copy,
    );
    body.append(row);
  }
  table.append(thead, body);
  return table;
}

/**
 * One pending or failed item as its line (and the record to publish, if any).
 * @param {Record<string, any>} item
 * @param {string} mode cloudflare | manual
 * @returns {HTMLElement}
 */
function itemLine(item, mode) {
  const line = el("li");
  line.setAttribute("data-mail-item", String(item.name));
  line.setAttribute("data-status", String(item.status));
  let key = `item_${item.code}`;
  if (item.code === "dkim_not_visible" && item.todo === "team") key = "item_dkim_not_visible_team";
  const found = Array.isArray(item.found) ? item.found.join(", ") : "";
  const values = {
    provider: String(item.provider || found || ""),
    found,
    lookups: String(item.lookups ?? ""),
    date: item.due_at ? when(String(item.due_at)) : "",
    name: String(item.lookup || item.name || ""),
    item: String(item.name),
  };
  let text = tm(key, values);
  if (text === key) text = tm("item_unknown", values);
  // A manual zone's records are in one table below: the line points at it.
  if (item.record && item.todo === "customer" && mode === "manual") {
    text = tm("manual_item", { label: tm(`label_${item.name}`) });
  }
  line.append(el("p", text));
  // A record to publish is shown here unless the manual table below lists it.
  if (item.record && item.todo === "customer" && mode !== "manual") {
    line.append(recordsTable([item.record]));
  }
  return line;
}

/**
 * The last page's mail section: "Ready" or "Almost there" and what is left.
 * @param {HTMLElement} node the [data-mail] container
 * @param {HTMLElement | null} title the last step's heading (gets Ready / Almost there)
 * @param {Record<string, any> | null | undefined} mail the mail check (account answer or check again)
 * @param {() => Promise<Record<string, any>>} checkAgain asks the Portal to check again
 */
export function showMail(node, title, mail, checkAgain) {
  const ready = Boolean(mail && mail.ready);
  if (title) title.textContent = tm(ready ? "ready_title" : "almost_title");
  node.setAttribute("data-ready", String(ready));
  const parts = [];
  if (!mail) {
    parts.push(el("p", tm("unknown_line")));
  } else if (ready) {
    parts.push(el("p", tm("ready_line")));
  } else {
    parts.push(el("p", tm("almost_line")));
    const items = (mail.items || []).filter((/** @type {any} */ i) => i.status !== "ok");
    const list = el("ul");
    list.className = "mail-items";
    list.append(...items.map((/** @type {any} */ i) => itemLine(i, String(mail.mode))));
    parts.push(list);
    if (mail.mode === "manual") {
      const records = items
        .filter((/** @type {any} */ i) => i.record && i.todo === "customer")
        .map((/** @type {any} */ i) => i.record);
      if (records.length) parts.push(el("p", tm("manual_table")), recordsTable(records));
    }
  }
  if (mail && mail.checked_at) parts.push(el("p", tm("checked_at", { time: when(mail.checked_at) })));
  if (mail && !ready && mail.next_check_at) {
    parts.push(el("p", tm("next_check", { time: when(mail.next_check_at) })));
  }
  if (!ready) {
    const status = el("p");
    status.className = "hint";
    status.setAttribute("role", "status");
    const button = el("button", tm("check_again"));
    button.setAttribute("type", "button");
    button.setAttribute("data-action", "check-mail");
    button.addEventListener("click", async () => {
      button.setAttribute("disabled", "");
      status.textContent = tm("checking");
      try {
        showMail(node, title, await checkAgain(), checkAgain);
      } catch {
        button.removeAttribute("disabled");
        status.textContent = tm("check_failed");
      }
    });
    parts.push(button, status);
  }
  node.replaceChildren(...parts);
}
