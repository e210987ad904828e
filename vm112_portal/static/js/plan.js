// The DNS plan in plain words: what publishing will do to each mail record, and for each
// conflict the customer's choice (keep is the default; replacing must be chosen).

import { el } from "./dom.js";
import { t } from "./i18n.js";

/**
 * A record as one line of text: "MX example.pt → mail.host (10)".
 * @param {Record<string, unknown>} record
 * @returns {string}
 */
export function recordText(record) {
  const priority = record.priority === undefined ? "" : ` (${record.priority})`;
  return `${record.type} ${record.name} → ${record.content}${priority}`;
}

/**
 * One copyable record: its fields as text the customer can select and a copy button.
 * @param {Record<string, unknown>} record
 * @returns {HTMLElement}
 */
function copyable(record) {
  const value = String(record.content);
  const button = el("button", t("copy"));
  button.setAttribute("type", "button");
  button.className = "copy";
  button.addEventListener("click", () => {
    navigator.clipboard?.writeText(value).then(
      () => (button.textContent = t("copied")),
      () => (button.textContent = t("copy_failed")),
    );
  });
  const row = el("li");
  row.className = "manual-record";
  const code = el("code", recordText(record));
  row.append(code, button);
  return row;
}

/**
 * The records a customer without a Cloudflare zone adds at their DNS host.
 * @param {Record<string, unknown>[]} records
 * @param {Record<string, any> | null} [reason] the plan's manual_reason, when a zone exists
 * @returns {HTMLElement}
 */
export function manualList(records, reason = null) {
  const list = el("ul");
  list.className = "manual";
  list.setAttribute("data-manual-records", "");
  list.append(...records.map(copyable));
  if (!reason) return list;
  // Why the Portal does not write this Cloudflare zone (not active, not full).
  const box = el("div");
  box.append(el("p", t(`manual_reason_${reason.code}`, reason)), list);
  return box;
}

/**
 * The plan as a list; conflicts get a keep/replace choice (radio buttons named by purpose).
 * @param {Record<string, any>[]} steps
 * @returns {HTMLElement}
 */
export function planList(steps) {
  const list = el("ol");
  list.className = "plan";
  for (const step of steps) {
    const item = el("li");
    item.setAttribute("data-plan-step", step.purpose);
    item.setAttribute("data-action", step.action);
    const title = el("strong", t(`purpose_${step.purpose}`));
    item.append(title, el("p", t(`action_${step.action}`, { record: recordText(step) })));
    if (step.when === "after_account") item.append(el("p", t("when_after_account")));
    if (step.action === "conflict") {
      const existing = step.existing.map(recordText).join("; ");
      item.append(el("p", t(`conflict_${step.reason}`, { existing })));
      const group = el("fieldset");
      group.append(el("legend", t("conflict_choice")));
      for (const choice of ["keep", "replace"]) {
        const id = `choice-${step.purpose}-${choice}`;
        const input = /** @type {HTMLInputElement} */ (el("input"));
        input.type = "radio";
        input.name = `choice-${step.purpose}`;
        input.value = choice;
        input.id = id;
        input.checked = choice === "keep";
        const label = el("label", t(`${choice}_${step.reason}`));
        label.setAttribute("for", id);
        const line = el("div");
        line.className = "choice";
        line.append(input, label);
        group.append(line);
      }
      item.append(group);
    }
    list.append(item);
  }
  return list;
}

/**
 * The purposes whose conflict the customer chose to replace.
 * @param {ParentNode} root
 * @returns {string[]}
 */
export function replaceChoices(root) {
  return [...root.querySelectorAll('input[type=radio][value="replace"]:checked')].map((input) =>
    /** @type {HTMLInputElement} */ (input).name.replace("choice-", ""),
  );
}
