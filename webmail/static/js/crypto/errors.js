// Errors of the isecom protocol (docs/PROTOCOL.md §10).

/** The check names of PROTOCOL.md §10, in no particular order. */
export const CHECKS = Object.freeze([
  "version",
  "format",
  "params",
  "recipient",
  "unwrap",
  "commitment",
  "decrypt",
  "padding",
  "sender_key",
  "signature",
  "payload",
  "manifest",
  "truncated",
  "sha256",
  "chain",
  "proof",
  "revoked",
  "log",
]);

/**
 * A protocol check failed. `check` is the name of the failed check (PROTOCOL.md §10); the
 * message is for developers only and never shown to members as the reason.
 */
export class CryptoError extends Error {
  /**
   * @param {string} check one of CHECKS
   * @param {string} [message]
   */
  constructor(check, message) {
    if (!CHECKS.includes(check)) {
      throw new TypeError(`unknown check name: ${check}`);
    }
    super(message ? `${check}: ${message}` : check);
    this.name = "CryptoError";
    /** @type {string} */
    this.check = check;
  }
}

/**
 * Throw a CryptoError unless `condition` holds.
 * @param {unknown} condition
 * @param {string} check
 * @param {string} [message]
 * @returns {asserts condition}
 */
export function ensure(condition, check, message) {
  if (!condition) {
    throw new CryptoError(check, message);
  }
}
