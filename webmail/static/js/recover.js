// Recovery with the recovery code (docs/PROTOCOL.md §4.1, §5), in two steps:
//   1. POST /recovery/start gives the recovery wrap (a fake one of the same shape for an unknown
//      address) and the current bundle version; the code opens the wrap here — a wrong code or
//      an unknown address fail alike, in this browser; Argon2id (worker) on the new password with
//      a fresh salt; the same keys wrapped at max(current, wrap) + 1 under the new password and
//      under a NEW recovery code;
//   2. the new code is shown once and its storage confirmed, the TOTP code typed; a fresh
//      challenge (POST /recovery/start again) and the new credentials are signed in a
//      "recover" transcript with the identity signing key; POST /recovery/complete ends every
//      session.
// The recovery codes, the password and the keys never leave this browser.
import { ApiError, call } from "./api.js";
import { b64decode, b64encode, uidFromHex } from "./crypto/encoding.js";
import { CryptoError } from "./crypto/errors.js";
import {
  DEFAULT_PARAMS,
  WRAP_PASSWORD,
  WRAP_RECOVERY,
  materialBytes,
  newRecoveryCode,
  parseRecoveryCode,
  recoverProof,
  recoveryKey,
  unwrapBundle,
  wrapBundle,
} from "./crypto/keys.js";
import { derivePasswordKeysInWorker } from "./crypto/pool.js";
import { randomBytes } from "./crypto/primitives.js";
import { ready } from "./crypto/sodium.js";
import { errorText, fieldError, show } from "./page.js";
import { passwordMeter, personalWords } from "./strength.js";

const SALT_BYTES = 16;
const root = document.getElementById("recovery");
const msg = root.dataset;
const $ = (id) => document.getElementById(id);
const form = $("recovery-form");
const finishForm = $("recovery-finish");
const status = $("recovery-status");
const email = $("recovery-email");
const codeInput = $("recovery-code-input");
const fresh = $("new-password");
const confirmation = $("confirm-password");
const stored = $("recovery-stored");
const totp = $("recovery-totp");

/** What step 1 prepared for step 2: public values, and the signing key until it is used. */
let prepared = null;
const meter = passwordMeter(msg, () => personalWords(email.value));

class Stopped extends Error {
  constructor(text, input) {
    super(text);
    this.input = input;
  }
}

function wipe(sodium, ...secrets) {
  for (const secret of secrets) {
    if (secret) {
      sodium.memzero(secret);
    }
  }
}

function forget() {
  if (prepared !== null) {
    const { sigSk } = prepared;
    ready().then((sodium) => wipe(sodium, sigSk));
  }
  prepared = null;
  $("recovery-new-code").textContent = "";
}

/** Step 1: open the keys with the recovery code and prepare the new wraps. */
async function prepare(username, code, password) {
  const sodium = await ready();
  const rk = parseRecoveryCode(code);
  const start = await call("POST", "/api/v1/recovery/start", { body: { username } });
  const uid = uidFromHex(start.uid);
  const oldKey = recoveryKey(rk);
  let opened;
  try {
    opened = unwrapBundle(b64decode(start.wrapped_recovery), { uid, wrapKey: oldKey, kind: WRAP_RECOVERY });
  } catch (error) {
    if (error instanceof CryptoError) {
      throw new Stopped(msg.msgCodeWrong, codeInput);
    }
    throw error;
  } finally {
    wipe(sodium, rk, oldKey);
  }
  let derived = null;
  const recovery = newRecoveryCode();
  const newKey = recoveryKey(recovery.rk);
  try {
    const bundleVersion = Math.max(opened.bundleVersion, Number(start.bundle_version) || 0) + 1;
    const salt = randomBytes(SALT_BYTES);
    const params = { ...DEFAULT_PARAMS };
    derived = await derivePasswordKeysInWorker(password, salt, params);
    const common = { bundle: opened.bundle, uid, bundleVersion };
    const wrappedPassword = wrapBundle({ ...common, wrapKey: derived.kek, kind: WRAP_PASSWORD });
    const wrappedRecovery = wrapBundle({ ...common, wrapKey: newKey, kind: WRAP_RECOVERY });
    return {
      username,
      code: recovery.code,
      sigSk: opened.keys.sigSk.slice(),
      material: materialBytes({ salt, params, authPk: derived.authPk, wrappedPassword, wrappedRecovery }),
      body: {
        salt: b64encode(salt),
        params,
        auth_pk: b64encode(derived.authPk),
        wrapped_password: b64encode(wrappedPassword),
        wrapped_recovery: b64encode(wrappedRecovery),
      },
    };
  } finally {
    wipe(sodium, recovery.rk, newKey, derived?.kek, derived?.authSk, derived?.authSeed, opened.bundle);
    wipe(sodium, opened.keys.sigSeed, opened.keys.sigSk, ...opened.keys.encKeys.map((key) => key.sk));
  }
}

/** Step 2: a fresh challenge, the proof, and the new credentials sent. */
async function complete(code) {
  const { username, material, body, sigSk } = prepared;
  const start = await call("POST", "/api/v1/recovery/start", { body: { username } });
  const proof = recoverProof(sigSk, {
    origin: window.location.origin,
    username,
    challengeId: b64decode(start.challenge_id, 16),
    challenge: b64decode(start.challenge, 32),
    totpCode: code,
    material,
  });
  return call("POST", "/api/v1/recovery/complete", {
    body: { ...body, username, challenge_id: start.challenge_id, totp_code: code, proof: b64encode(proof) },
  });
}

function clearErrors(pairs) {
  for (const [input, id] of pairs) {
    fieldError(input, $(id));
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = form.querySelector("button[type=submit]");
  if (button.disabled) {
    return;
  }
  clearErrors([
    [email, "recovery-email-error"],
    [codeInput, "recovery-code-error"],
    [fresh, "password-error"],
    [confirmation, "password-error"],
  ]);
  show(status, "");
  const username = email.value.trim().toLowerCase();
  let shapeOk = true;
  try {
    parseRecoveryCode(codeInput.value);
  } catch {
    shapeOk = false;
  }
  const problem = [
    [!username || !email.checkValidity(), email, "recovery-email-error", msg.msgMissingEmail],
    [!shapeOk, codeInput, "recovery-code-error", msg.msgCodeShape],
    [!meter().acceptable, fresh, "password-error", msg.msgWeak],
    [confirmation.value !== fresh.value, confirmation, "password-error", msg.msgMismatch],
  ].find(([failed]) => failed);
  if (problem) {
    const [, input, id, text] = problem;
    fieldError(input, $(id), text);
    input.focus();
    return;
  }
  button.disabled = true;
  $("recovery-progress").hidden = false;
  show(status, msg.msgWorking);
  try {
    prepared = await prepare(username, codeInput.value, fresh.value);
  } catch (error) {
    show(status, "");
    if (error instanceof Stopped) {
      fieldError(error.input, $(`${error.input.id.replace("-input", "")}-error`), error.message);
      error.input.focus();
    } else if (error instanceof ApiError) {
      show(status, errorText(error, msg), "error");
    } else {
      show(status, msg.msgCryptoFailed, "error");
    }
    return;
  } finally {
    button.disabled = false;
    $("recovery-progress").hidden = true;
  }
  show(status, "");
  form.reset();
  meter();
  form.hidden = true;
  $("recovery-new-code").textContent = prepared.code;
  finishForm.hidden = false;
  $("recovery-finish-title").focus();
});

finishForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = finishForm.querySelector("button[type=submit]");
  if (button.disabled || prepared === null) {
    return;
  }
  clearErrors([
    [stored, "recovery-stored-error"],
    [totp, "recovery-totp-error"],
  ]);
  const code = totp.value.replace(/\s/g, "");
  if (!stored.checked) {
    fieldError(stored, $("recovery-stored-error"), msg.msgAck);
    stored.focus();
    return;
  }
  if (!/^[0-9]{6}$/.test(code)) {
    fieldError(totp, $("recovery-totp-error"), msg.msgTotpFormat);
    totp.focus();
    return;
  }
  button.disabled = true;
  show($("recovery-finish-status"), msg.msgSaving);
  try {
    await complete(code);
  } catch (error) {
    show($("recovery-finish-status"), "");
    if (error instanceof ApiError && error.code === "auth.required") {
      totp.value = "";
      fieldError(totp, $("recovery-totp-error"), msg.msgFailed);
      totp.focus();
    } else {
      show($("recovery-finish-status"), error instanceof ApiError ? errorText(error, msg) : msg.msgCryptoFailed, "error");
    }
    return;
  } finally {
    button.disabled = false;
  }
  show($("recovery-finish-status"), "");
  forget();
  finishForm.reset();
  finishForm.hidden = true;
  $("recovery-done").hidden = false;
  $("recovery-done-title").focus();
});

fresh.addEventListener("input", () => {
  meter();
  fieldError(fresh, $("password-error"));
});
for (const [input, id] of [
  [email, "recovery-email-error"],
  [codeInput, "recovery-code-error"],
  [confirmation, "password-error"],
  [totp, "recovery-totp-error"],
]) {
  input.addEventListener("input", () => fieldError(input, $(id)));
}
stored.addEventListener("change", () => fieldError(stored, $("recovery-stored-error")));

ready().then(
  () => (document.documentElement.dataset.sodium = "ready"),
  () => show(status, msg.msgCryptoFailed, "error"),
);
