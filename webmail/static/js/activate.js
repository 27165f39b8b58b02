// Activation (docs/PROTOCOL.md §2–§5), one step at a time:
//   link      POST /activation/check: whom the link is for (the token stays in the URL fragment,
//             which browsers never send, so it never reaches a log);
//   password  chosen against the policy of strength.js, confirmed;
//   keys      POST /activation/start (uid and TOTP secret), Argon2id in a worker, identity keys
//             drawn here, the bundle wrapped under the password and under a new recovery code;
//   totp      the app is enrolled from the QR code or the key, one code is typed;
//   recovery  the recovery code is shown once and its storage confirmed;
//   then      POST /activation/complete with public and wrapped values only, and a link to sign in.
import { ApiError, call } from "./api.js";
import { b64decode, b64encode, uidFromHex } from "./crypto/encoding.js";
import {
  DEFAULT_PARAMS,
  WRAP_PASSWORD,
  WRAP_RECOVERY,
  newBundle,
  newRecoveryCode,
  recoveryKey,
  serializeBundle,
  wrapBundle,
} from "./crypto/keys.js";
import { keyStatement } from "./crypto/keytrans.js";
import { derivePasswordKeysInWorker } from "./crypto/pool.js";
import { randomBytes } from "./crypto/primitives.js";
import { ready } from "./crypto/sodium.js";
import { errorText, fieldError, fill, nextFrame, show } from "./page.js";
import { passwordMeter, personalWords } from "./strength.js";

const BUNDLE_VERSION = 1;
const SALT_BYTES = 16;

const box = document.getElementById("activation");
const msg = box.dataset;
const status = document.getElementById("activation-status");
const steps = document.getElementById("activation-steps");
const $ = (id) => document.getElementById(id);

const passwordForm = $("step-password");
const password = $("new-password");
const confirmation = $("confirm-password");
const passwordError = $("password-error");
const totpForm = $("step-totp");
const totpCode = $("totp-code");
const totpError = $("totp-error");
const recoveryForm = $("step-recovery");
const recoveryStored = $("recovery-stored");
const recoveryError = $("recovery-error");
const recoveryStatus = $("recovery-status");
const keysError = $("keys-error");

/** Everything this page holds for one link; dropped by reset(). */
let state = fresh();

function fresh() {
  return { token: "", personal: [], material: null, code: "", busy: false };
}

// --- steps -------------------------------------------------------------------------------------

const STEPS = ["password", "keys", "totp", "recovery", "done"];

function goTo(step, { focus = true } = {}) {
  steps.hidden = false;
  const at = STEPS.indexOf(step);
  for (const item of steps.querySelectorAll(".stepper li")) {
    const index = STEPS.indexOf(item.dataset.step);
    item.classList.toggle("done", index < at || step === "done");
    if (index === at) {
      item.setAttribute("aria-current", "step");
    } else {
      item.removeAttribute("aria-current");
    }
  }
  for (const name of STEPS) {
    $(`step-${name}`).hidden = name !== step;
  }
  if (focus) {
    $(`step-${step}`).querySelector("h2").focus();
  }
}

function linkFailed(text) {
  steps.hidden = true;
  show(status, text, "error");
  state = { ...fresh(), token: state.token };
}

// --- link ----------------------------------------------------------------------------------------

async function check() {
  reset();
  let token;
  try {
    token = decodeURIComponent(window.location.hash.slice(1));
  } catch {
    show(status, msg.msgInvalid, "error");
    return;
  }
  if (!token) {
    show(status, msg.msgMissing, "error");
    return;
  }
  state.token = token;
  show(status, msg.msgChecking);
  let info;
  try {
    info = await call("POST", "/api/v1/activation/check", { body: { token } });
  } catch (error) {
    show(status, error.code === "network" ? msg.msgNetwork : msg.msgInvalid, "error");
    return;
  }
  if (state.token !== token) {
    return; // the link changed while we asked
  }
  const date = new Date(info.expires_at).toLocaleString(document.documentElement.lang);
  show(status, fill(msg.msgValid, { name: info.name, email: info.email, date }), "ok");
  state.personal = personalWords(info.name, info.email);
  $("activation-username").defaultValue = info.email;
  goTo("password", { focus: false });
}

function reset() {
  state = fresh();
  steps.hidden = true;
  for (const form of [passwordForm, totpForm, recoveryForm]) {
    form.reset();
  }
  for (const [input, message] of [
    [password, passwordError],
    [confirmation, passwordError],
    [totpCode, totpError],
    [recoveryStored, recoveryError],
  ]) {
    fieldError(input, message);
  }
  $("recovery-code").textContent = "";
  $("totp-secret").textContent = "";
  $("totp-qr").removeAttribute("src");
  show(recoveryStatus, "");
  meter();
}

// --- password ------------------------------------------------------------------------------------

const meter = passwordMeter(msg, () => state.personal);

password.addEventListener("input", () => {
  meter();
  fieldError(password, passwordError);
});
confirmation.addEventListener("input", () => fieldError(confirmation, passwordError));

passwordForm.addEventListener("submit", (event) => {
  event.preventDefault();
  if (state.busy) {
    return;
  }
  if (!meter().acceptable) {
    fieldError(password, passwordError, msg.msgWeak);
    password.focus();
    return;
  }
  if (confirmation.value !== password.value) {
    fieldError(confirmation, passwordError, msg.msgMismatch);
    confirmation.focus();
    return;
  }
  const chosen = password.value;
  passwordForm.reset();
  meter();
  createKeys(chosen);
});

// --- keys ----------------------------------------------------------------------------------------

function stage(name, progress) {
  for (const item of $("keys-stages").children) {
    const order = ["start", "derive", "identity", "wrap"];
    const at = order.indexOf(name);
    const index = order.indexOf(item.dataset.stage);
    item.dataset.state = index < at ? "done" : index === at ? "running" : "pending";
  }
  $("keys-progress").value = progress;
}

async function createKeys(chosen) {
  state.busy = true;
  goTo("keys");
  show(keysError, "");
  $("keys-retry").hidden = true;
  const began = performance.now();
  const seconds = new Intl.NumberFormat(document.documentElement.lang, { maximumFractionDigits: 0 });
  const tick = () => {
    const elapsed = seconds.format((performance.now() - began) / 1000);
    $("keys-elapsed").textContent = fill(msg.msgElapsed, { seconds: elapsed });
  };
  tick();
  const timer = setInterval(tick, 500);
  try {
    stage("start", 0);
    const sodium = await ready();
    const started = await call("POST", "/api/v1/activation/start", { body: { token: state.token } });
    const uid = uidFromHex(started.member.id);

    stage("derive", 1);
    await nextFrame();
    const salt = randomBytes(SALT_BYTES);
    const params = { ...DEFAULT_PARAMS };
    const derived = await derivePasswordKeysInWorker(chosen, salt, params);

    stage("identity", 2);
    await nextFrame();
    const identity = newBundle();
    const bundle = serializeBundle(identity);

    stage("wrap", 3);
    await nextFrame();
    const recovery = newRecoveryCode();
    const rkKey = recoveryKey(recovery.rk);
    const common = { bundle, uid, bundleVersion: BUNDLE_VERSION };
    const material = {
      salt: b64encode(salt),
      params,
      auth_pk: b64encode(derived.authPk),
      wrapped_password: b64encode(wrapBundle({ ...common, wrapKey: derived.kek, kind: WRAP_PASSWORD })),
      wrapped_recovery: b64encode(wrapBundle({ ...common, wrapKey: rkKey, kind: WRAP_RECOVERY })),
      sig_pk: b64encode(identity.sigPk),
      enc_pk: b64encode(identity.encKeys.at(-1).pk),
      key_statement: b64encode(
        keyStatement({
          sigSk: identity.sigSk,
          sigPk: identity.sigPk,
          uid,
          email: started.member.email,
          seqno: started.key_statement.seqno,
          prev: b64decode(started.key_statement.prev, 32),
          encPk: identity.encKeys.at(-1).pk,
          created: identity.encKeys.at(-1).created,
        }),
      ),
    };
    const secrets = [bundle, rkKey, recovery.rk, derived.kek, derived.authSk, derived.authSeed];
    for (const secret of [...secrets, identity.sigSeed, identity.sigSk]) {
      sodium.memzero(secret);
    }
    identity.encKeys.forEach((key) => sodium.memzero(key.sk));
    stage("wrap", 4);

    state.material = material;
    $("totp-qr").src = started.totp_qr;
    $("totp-secret").textContent = started.totp_secret.match(/.{1,4}/g).join(" ");
    $("recovery-code").textContent = recovery.code;
    await nextFrame();
    goTo("totp");
  } catch (error) {
    keysFailed(error);
  } finally {
    clearInterval(timer);
    state.busy = false;
  }
}

function keysFailed(error) {
  if (error instanceof ApiError && error.code === "token.invalid") {
    linkFailed(msg.msgInvalid);
    return;
  }
  const text = error instanceof ApiError ? errorText(error, msg) : msg.msgCryptoFailed;
  show(keysError, text, "error");
  $("keys-retry").hidden = false;
  $("keys-retry").focus();
}

$("keys-retry").addEventListener("click", () => {
  show(keysError, "");
  goTo("password");
});

// --- TOTP ----------------------------------------------------------------------------------------

totpCode.addEventListener("input", () => fieldError(totpCode, totpError));

totpForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const code = totpCode.value.replace(/\s/g, "");
  if (!/^[0-9]{6}$/.test(code)) {
    fieldError(totpCode, totpError, msg.msgCodeFormat);
    totpCode.focus();
    return;
  }
  state.code = code;
  if (recoveryStored.checked) {
    finish(); // back here after a refused code: the recovery code was already confirmed
  } else {
    goTo("recovery");
  }
});

// --- recovery code and completion ----------------------------------------------------------------

recoveryStored.addEventListener("change", () => fieldError(recoveryStored, recoveryError));

recoveryForm.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!recoveryStored.checked) {
    fieldError(recoveryStored, recoveryError, msg.msgAck);
    recoveryStored.focus();
    return;
  }
  finish();
});

async function finish() {
  if (state.busy || state.material === null) {
    return;
  }
  state.busy = true;
  const button = recoveryForm.querySelector("button[type=submit]");
  button.disabled = true;
  show(recoveryStatus, msg.msgSaving);
  try {
    const done = await call("POST", "/api/v1/activation/complete", {
      body: { token: state.token, ...state.material, totp_code: state.code },
    });
    $("recovery-code").textContent = "";
    $("totp-secret").textContent = "";
    $("totp-qr").removeAttribute("src");
    state = { ...fresh(), token: state.token };
    $("done-title").textContent = fill(msg.msgDone, { name: done.member.name });
    show(status, "");
    goTo("done");
  } catch (error) {
    completeFailed(error);
  } finally {
    button.disabled = false;
    state.busy = false;
  }
}

function completeFailed(error) {
  show(recoveryStatus, "");
  if (error.field === "totp_code") {
    goTo("totp");
    totpCode.value = "";
    fieldError(totpCode, totpError, msg.msgTotpWrong);
    totpCode.focus();
    return;
  }
  if (error.code === "token.invalid") {
    linkFailed(msg.msgInvalid);
    return;
  }
  if (error.code === "conflict") {
    linkFailed(msg.msgAlready);
    return;
  }
  if (recoveryForm.hidden) {
    goTo("recovery");
  }
  show(recoveryStatus, errorText(error, msg), "error");
}

// --- start ---------------------------------------------------------------------------------------

ready().catch(() => show(status, msg.msgCryptoFailed, "error"));
check();
window.addEventListener("hashchange", check);
