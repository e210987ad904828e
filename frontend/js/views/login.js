// The login form: keeps ?next= and shows why the last attempt failed.

/**
 * @param {HTMLFormElement} form the [data-login] form
 * @param {{t: Function}} ctx
 */
export function initLogin(form, ctx) {
  const query = new URLSearchParams(window.location.search);
  const next = query.get("next");
  const nextField = form.elements.namedItem("next");
  if (next && nextField) nextField.value = next;
  const message = form.querySelector("[data-login-error]");
  const error = query.get("error");
  if (error === "invalid" || error === "throttled") {
    message.textContent = ctx.t(`login.${error}`);
    message.hidden = false;
  }
}
