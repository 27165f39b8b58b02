// JSON calls to our own /api/v1. The browser adds Origin to every POST and DELETE (the server
// refuses state-changing calls without it); signed-in state changes also carry X-CSRF-Token.

/** A refused call: the HTTP status and the error object of the answer ({code, message, field}). */
export class ApiError extends Error {
  /**
   * @param {number} status 0 when the server could not be reached
   * @param {string} code e.g. "auth.required", "rate_limited", "network"
   * @param {string} message the server's message (English)
   * @param {string|null} field the input the error is about, if any
   */
  constructor(status, code, message, field) {
    super(message || code);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/**
 * @param {"GET"|"POST"|"DELETE"} method
 * @param {string} path e.g. "/api/v1/auth/login"
 * @param {{body?: object, csrf?: string|null}} [options]
 * @returns {Promise<any>} the decoded JSON answer, or null for 204
 */
export async function call(method, path, { body, csrf } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
  }
  if (csrf) {
    headers["X-CSRF-Token"] = csrf;
  }
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network", "", null);
  }
  if (response.status === 204) {
    return null;
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data?.error ?? {};
    throw new ApiError(response.status, error.code ?? "unknown", error.message ?? "", error.field ?? null);
  }
  return data;
}
