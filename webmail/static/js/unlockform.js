// The unlock form shared by the pages that hold the member's keys in memory (/mail, /checklists):
// the password unwraps the keys in the page; the form says which step failed and why.

import { ApiError } from "./api.js";
import { KeyProblem } from "./keyring.js";
import { WrongPassword } from "./unlock.js";
import { errorText, fieldError, show } from "./page.js";

/** The text for a KeyProblem reason (the page's data-reason-* messages). */
export function reasonText(msg, reason) {
  return msg["reason" + reason[0].toUpperCase() + reason.slice(1)] ?? msg.reasonFormat;
}

/**
 * Wire the unlock form (#unlock-form, #unlock-password, #unlock-status): on success the form
 * hides and `opened()` runs with the keys in memory; the keys are dropped when the page goes.
 * @param {{ unlock(password: string): Promise<void>, close(): void }} holder
 * @param {DOMStringMap} msg
 * @param {() => Promise<void>} opened
 */
export function unlockForm(holder, msg, opened) {
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
      await holder.unlock(input.value);
    } catch (problem) {
      holder.close();
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
  window.addEventListener("pagehide", () => holder.close());
}
