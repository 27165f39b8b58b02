// The revocation form (templates/_revoke.html) of /home and /contacts/{id}: a member revokes their
// own keys, or the head of a country's NCB revokes a member of that country (docs/PROTOCOL.md §9.5).
//   GET  /keys/v1/revocations/plan?member=ID  what to sign: the statement's hash, who signs, the
//                                             NCB head's certificate, the server's time;
//   in this browser   the plan compared with the key log (the statement revoked is the member's
//                     current one there; the certificate is the head's own), the password opens
//                     the signing key for this one signature (unlock.js), the revocation signed;
//   POST /keys/v1/revocations                 the signed revocation and the reason, logged.
// The password never leaves the browser; the keys are wiped after the signature.
import { ApiError } from "./api.js";
import { b64decode, b64encode, equal, uidFromHex } from "./crypto/encoding.js";
import { CertRole, RevokedBy, revocation } from "./crypto/keytrans.js";
import { KeyProblem, KeyRing } from "./keyring.js";
import { errorText, fieldError, show } from "./page.js";
import { WrongPassword, unlockKeys } from "./unlock.js";

const YEAR = 365 * 86400;
const MARGIN = 60; // seconds kept from the one-year limit for the time the signature takes
const SKEW = 600; // a time picked up to this far past the server's clock counts as "now"
const MAX_REASON = 2000;

/** A refusal already shown next to its field or in the status line; nothing was sent. */
class Stopped extends Error {}

/** "2025-03-01T09:30" for the datetime-local input, in this computer's time zone. */
function localValue(seconds) {
  const d = new Date(seconds * 1000);
  const two = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** The plan for `memberId`: null when this member may not revoke those keys (404) or they are revoked (409). */
export async function revocationPlan(api, memberId) {
  try {
    return await api("GET", `/keys/v1/revocations/plan?member=${encodeURIComponent(memberId)}`);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 409)) {
      return null;
    }
    throw error;
  }
}

/**
 * Wire the revocation form.
 * @param {HTMLFormElement} form
 * @param {{memberId: string, me: () => {id: string, email: string}, api: Function,
 *          reasonText: (reason: string) => string,
 *          done: (result: {effective: number, by: number, now: number}) => void | Promise<void>}} options
 */
export function revocationForm(form, { memberId, me, api, reasonText, done }) {
  const msg = form.dataset;
  const field = (id) => ({ input: document.getElementById(id), error: document.getElementById(`${id}-error`) });
  const password = field("revoke-password");
  const effective = field("revoke-effective");
  const reason = field("revoke-reason");
  const confirm = field("revoke-confirm");
  const status = document.getElementById("revoke-status");
  const button = form.querySelector("button[type=submit]");
  const reasonRequired = msg.reasonRequired === "true";

  const now = Math.floor(Date.now() / 1000);
  effective.input.max = localValue(now);
  effective.input.min = localValue(now - YEAR + 86400);

  function stop(target, text) {
    fieldError(target.input, target.error, text);
    target.input.focus();
    throw new Stopped();
  }

  /** The checks made before anything is asked of the server; the picked time in seconds or null. */
  function check() {
    for (const target of [password, effective, reason, confirm]) {
      fieldError(target.input, target.error);
    }
    show(status, "");
    if (!password.input.value) {
      stop(password, msg.msgPassword);
    }
    let picked = null;
    if (effective.input.value) {
      const ms = new Date(effective.input.value).getTime();
      if (!Number.isFinite(ms)) {
        stop(effective, msg.msgEffectiveOld);
      }
      picked = Math.floor(ms / 1000);
      const clock = Math.floor(Date.now() / 1000);
      if (picked > clock + SKEW) {
        stop(effective, msg.msgEffectiveFuture);
      }
      if (picked < clock - YEAR + MARGIN) {
        stop(effective, msg.msgEffectiveOld);
      }
    }
    const text = reason.input.value.trim();
    if (reasonRequired && !text) {
      stop(reason, msg.msgReasonRequired);
    }
    if (text.length > MAX_REASON) {
      stop(reason, msg.msgReasonLong);
    }
    if (!confirm.input.checked) {
      stop(confirm, msg.msgConfirm);
    }
    return { picked, text };
  }

  /** The plan, checked against the key log: nothing the server chose alone is signed. */
  async function checkedPlan(self) {
    const plan = await api("GET", `/keys/v1/revocations/plan?member=${encodeURIComponent(memberId)}`);
    const ring = await KeyRing.open(self.id);
    const target = await ring.fetchLogged(memberId);
    if (target.problem === "revoked") {
      show(status, msg.msgAlready, "error");
      throw new Stopped();
    }
    const expected = memberId === self.id ? "self" : "ncb_head";
    let ok = plan.member?.id === memberId && plan.by === expected;
    ok = ok && equal(b64decode(plan.key_statement, 32), target.verified.keys.hash);
    if (ok && expected === "ncb_head") {
      const mine = await ring.fetchLogged(self.id);
      const hash = plan.certificate ? b64decode(plan.certificate.hash, 32) : null;
      ok =
        hash !== null &&
        mine.verified.certificates.some((c) => c.role === CertRole.NCB_HEAD && equal(c.hash, hash));
    }
    if (!ok) {
      show(status, reasonText("chain"), "error");
      throw new Stopped();
    }
    return plan;
  }

  async function sign(self, plan, picked) {
    const made = plan.now;
    if (picked !== null && picked > made + SKEW) {
      stop(effective, msg.msgEffectiveFuture);
    }
    const when = picked === null ? made : Math.min(picked, made);
    if (when < made - YEAR + MARGIN) {
      stop(effective, msg.msgEffectiveOld);
    }
    show(status, msg.msgSigning);
    let keys;
    try {
      keys = await unlockKeys(password.input.value, self, api);
    } catch (error) {
      if (error instanceof WrongPassword) {
        show(status, "");
        stop(password, msg.msgPasswordWrong);
      }
      throw error;
    }
    try {
      const by = plan.by === "self" ? RevokedBy.SELF : RevokedBy.NCB_HEAD;
      const common = {
        signerSk: keys.sigSk,
        signerPk: keys.sigPk,
        uid: uidFromHex(memberId),
        ksHash: b64decode(plan.key_statement, 32),
        effective: when,
        by,
        made,
      };
      const cert =
        by === RevokedBy.NCB_HEAD
          ? { signerCert: b64decode(plan.certificate.hash, 32), signerCertIdx: plan.certificate.index }
          : {};
      return { statement: b64encode(revocation({ ...common, ...cert })), effective: when, by, made };
    } finally {
      keys.close();
    }
  }

  function refused(error) {
    if (error instanceof KeyProblem) {
      show(status, reasonText(error.reason), "error");
      return;
    }
    if (!(error instanceof ApiError)) {
      show(status, String(error), "error");
      return;
    }
    if (error.status === 409) {
      show(status, msg.msgAlready, "error");
    } else if (error.status === 404) {
      show(status, msg.msgGone, "error");
    } else if (error.field === "reason") {
      fieldError(reason.input, reason.error, reasonRequired ? msg.msgReasonRequired : msg.msgReasonLong);
      reason.input.focus();
    } else if (error.field === "effective") {
      fieldError(effective.input, effective.error, errorText(error, msg));
      effective.input.focus();
    } else {
      show(status, errorText(error, msg), "error");
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let result;
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      const { picked, text } = check();
      const self = me();
      if (!self) {
        show(status, msg.msgNetwork, "error"); // the page has not loaded the session yet
        throw new Stopped();
      }
      const plan = await checkedPlan(self);
      const signed = await sign(self, plan, picked);
      const body = { member_id: memberId, statement: signed.statement };
      if (text) {
        body.reason = text;
      }
      await api("POST", "/keys/v1/revocations", body);
      result = { effective: signed.effective, by: signed.by, now: signed.made };
    } catch (error) {
      if (!(error instanceof Stopped)) {
        refused(error);
      }
      return;
    } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
    password.input.value = "";
    form.reset();
    await done(result);
  });
}
