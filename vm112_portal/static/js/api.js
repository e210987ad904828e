// The wizard's JSON API. Errors come back as {"ok": false, "error": "...", "status": N}.

/** An API call that failed; `message` is the server's reason, safe to show as text. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {number} status
   * @param {string} [code]
   */
  constructor(message, status, code = "") {
    super(message);
    this.status = status;
    /** the stable code of the customer's message ("domain_invalid", ...) */
    this.code = code;
  }
}

/**
 * POST a JSON body to a wizard endpoint.
 * @param {string} path e.g. "/api/v1/onboarding/validate-domain"
 * @param {Record<string, string>} body
 * @returns {Promise<Record<string, unknown>>} the response document (ok: true)
 */
export async function post(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
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
    throw new ApiError(reason || `HTTP ${response.status}`, response.status, code);
  }
  return document;
}
