// What the checklist pages share: the signed-in member's keys unlocked with the password (Mail of
// mailcore.js: memory only, checked against the key log), case keys unwrapped from the member's own
// wrap (PROTOCOL.md §12) and the unlock form.
import { ApiError } from "./api.js";
import { KeyProblem } from "./keyring.js";
import { Mail } from "./mailcore.js";
import { WrongPassword } from "./unlock.js";
import { errorText, fieldError, show } from "./page.js";
import { b64decode, fromHex } from "./crypto/encoding.js";
import { openLabel, unwrapCaseKey } from "./crypto/casefile.js";
import { lib } from "./crypto/sodium.js";

export class Casebook extends Mail {
  constructor() {
    super();
    this.caseKeys = new Map(); // case id -> case key (memory only)
  }

  /**
   * The case key from the caller's own wrap.
   * @param {{id: string, key_commit: string}} c the case (JSON)
   * @param {{enc_kid: string, wrap: string}} own the caller's participant entry
   */
  caseKey(c, own) {
    if (!this.caseKeys.has(c.id)) {
      const key = unwrapCaseKey({
        wrap: b64decode(own.wrap),
        encKid: b64decode(own.enc_kid, 32),
        caseId: fromHex(c.id, 16),
        keyCommit: b64decode(c.key_commit, 32),
        encKeys: this.keys.encKeys,
      });
      this.caseKeys.set(c.id, key);
    }
    return this.caseKeys.get(c.id);
  }

  label(c, own) {
    return openLabel(this.caseKey(c, own), fromHex(c.id, 16), b64decode(c.label));
  }

  close() {
    for (const key of this.caseKeys.values()) {
      lib().memzero(key);
    }
    this.caseKeys.clear();
    super.close();
  }
}

/** The text for a KeyProblem reason (data-reason-* of the page). */
export function reasonText(msg, reason) {
  return msg["reason" + reason[0].toUpperCase() + reason.slice(1)] ?? msg.reasonFormat;
}

/**
 * Wire the unlock form: on success `opened()` runs with the keys in memory.
 * @param {Casebook} book
 * @param {DOMStringMap} msg
 * @param {() => Promise<void>} opened
 */
export function unlockForm(book, msg, opened) {
  const $ = (id) => document.getElementById(id);
  $("unlock-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("unlock-password");
    const status = $("unlock-status");
    const error = $("unlock-password-error");
    fieldError(input, error);
    if (!input.value) {
      fieldError(input, error, msg.msgNoPassword);
      input.focus();
      return;
    }
    show(status, msg.msgUnlocking);
    try {
      await book.unlock(input.value);
    } catch (problem) {
      book.close();
      if (problem instanceof WrongPassword) {
        show(status, "");
        fieldError(input, error, msg.msgWrongPassword);
        input.focus();
      } else if (problem instanceof KeyProblem) {
        show(status, problem.reason === "own" ? msg.msgOwnKeys : reasonText(msg, problem.reason), "error");
      } else {
        show(status, problem instanceof ApiError ? errorText(problem, msg) : String(problem), "error");
      }
      return;
    }
    input.value = "";
    show(status, "");
    $("unlock").hidden = true;
    await opened();
  });
  window.addEventListener("pagehide", () => book.close());
}
