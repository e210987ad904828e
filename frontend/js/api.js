// JSON API calls with the session cookie; a 401 sends the browser to the login page.

export class HttpError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Go to the login page, coming back here afterwards. */
export function toLogin() {
  const next = window.location.pathname + window.location.search;
  window.location.assign(`/login?next=${encodeURIComponent(next)}`);
}

/**
 * GET a JSON document from Ops.
 * @param {string} path
 * @returns {Promise<any>}
 */
export async function getJSON(path) {
  const response = await fetch(path, {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  if (response.status === 401) {
    toLogin();
    throw new HttpError(401, "login required");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new HttpError(response.status, body.error || response.statusText);
  return body;
}

/** Throws (after sending the browser to login) when the session is gone. */
export async function checkSession() {
  await getJSON("/api/v1/desk/tickets?limit=1");
}

/**
 * Send a JSON body to Ops (PATCH, POST) from the Desk's own origin; the browser adds
 * Origin and Sec-Fetch-Site, which Ops checks. Answers are returned, errors included, so
 * a view can show a conflict (409) with the current ticket.
 * @param {string} method
 * @param {string} path
 * @param {any} body
 * @returns {Promise<{status: number, body: any}>}
 */
export async function sendJSON(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.status === 401) {
    toLogin();
    throw new HttpError(401, "login required");
  }
  return { status: response.status, body: await response.json().catch(() => ({})) };
}
