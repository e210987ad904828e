// The wizard's JSON API. Errors come back as {"ok": false, "error": "...", "status": N}.
// The session is the browser's HttpOnly cookie (the wizard secret): the page never sees
// a session id and sends none.

/** An API call that failed; `message` is the server's reason, safe to show as text. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {number} status
   * @param {string} [code]
   * @param {{reference?: string, retry?: boolean}} [extra]
   */
  constructor(message, status, code = "", extra = {}) {
    super(message);
    this.status = status;
    /** the stable code of the customer's message ("domain_invalid", ...) */
    this.code = code;
    /** the support reference of a failed step ("" for validation errors) */
    this.reference = typeof extra.reference === "string" ? extra.reference : "";
    /** false when trying the step again cannot help */
    this.retry = extra.retry !== false;
  }
}

/**
 * Call a wizard endpoint (POST with a JSON body, or GET without one).
 * @param {string} path e.g. "/api/v1/onboarding/validate-domain"
 * @param {Record<string, unknown> | null} body null: GET
 * @returns {Promise<Record<string, unknown>>} the response document (ok: true)
 */
async function call(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: body === null ? "GET" : "POST",
      headers:
        body === null
          ? { Accept: "application/json" }
          : { "Content-Type": "application/json", Accept: "application/json" },
      body: body === null ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError("", 0);
  }
  let document = null;
  try {
    document = await response.json();
  } catch {
    document = null;
  }
  if (!response.ok || !document || document.ok !== true) {
    const reason = document && typeof document.error === "string" ? document.error : "";
    const code = document && typeof document.code === "string" ? document.code : "";
    throw new ApiError(reason || `HTTP ${response.status}`, response.status, code, document || {});
  }
  return document;
}

/**
 * POST a JSON body to a wizard endpoint.
 * @param {string} path
 * @param {Record<string, unknown>} body
 */
export function post(path, body) {
  return call(path, body);
}

/**
 * GET a wizard endpoint.
 * @param {string} path
 */
export function get(path) {
  return call(path, null);
}
