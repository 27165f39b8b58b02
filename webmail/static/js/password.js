// Password change (docs/PROTOCOL.md §4.1), for a signed-in member:
//   GET  /account/keys     the password wrap of the keys (useless without the password);
//   POST /auth/prelogin    the salt, the parameters and a single-use challenge;
//   in this browser        Argon2id (worker) on the current password opens the wrap — a wrong
//                          current password is caught here; Argon2id on the new password with a
//                          fresh salt; the same keys wrapped again at bundle_version + 1; the
//                          new credentials signed inside a "rekey" transcript with the current
//                          login key;
//   POST /account/password the server checks the proof and the TOTP code, replaces the
//                          credentials and signs out every other session.
// Neither password nor any key derived from them leaves this browser.
import { ApiError, call } from "./api.js";
import { b64decode, b64encode, uidFromHex } from "./crypto/encoding.js";
import { CryptoError } from "./crypto/errors.js";
import {
  DEFAULT_PARAMS,
  WRAP_PASSWORD,
  checkParams,
  materialBytes,
  rekeyProof,
  unwrapBundle,
  wrapBundle,
} from "./crypto/keys.js";
import { derivePasswordKeysInWorker } from "./crypto/pool.js";
import { randomBytes } from "./crypto/primitives.js";
import { ready } from "./crypto/sodium.js";
import { errorText, fieldError, show } from "./page.js";
import { passwordMeter, personalWords } from "./strength.js";

const SALT_BYTES = 16;
const root = document.getElementById("password-page");
const msg = root.dataset;
const $ = (id) => document.getElementById(id);
const form = $("password-form");
const status = $("password-status");
const progress = $("password-progress");
const button = form.querySelector("button[type=submit]");
const current = $("current-password");
const fresh = $("new-password");
const confirmation = $("confirm-password");
const totp = $("totp");

let session = null; // {member, csrf_token}
let personal = [];
const meter = passwordMeter(msg, () => personal);

/** A refusal this page explains itself: the message and the input it is about. */
class Stopped extends Error {
  constructor(text, input = null) {
    super(text);
    this.input = input;
  }
}

function versionKey(memberId) {
  return `isecom.bundle-version.${memberId}`; // as signin.js: the highest version opened here
}

async function api(method, path, body) {
  try {
    return await call(method, path, { body, csrf: session?.csrf_token });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401 && path !== "/api/v1/account/password") {
      window.location.assign("/signin");
      return new Promise(() => {}); // the page is going away
    }
    throw error;
  }
}

function wipe(sodium, ...secrets) {
  for (const secret of secrets) {
    if (secret) {
      sodium.memzero(secret);
    }
  }
}

/** Open the keys with the current password; the bundle bytes and their version. */
async function openKeys(sodium, oldKeys, uid, memberId) {
  const held = await api("GET", "/api/v1/account/keys");
  let opened;
  try {
    opened = unwrapBundle(b64decode(held.wrapped_bundle), { uid, wrapKey: oldKeys.kek, kind: WRAP_PASSWORD });
  } catch (error) {
    if (error instanceof CryptoError && error.check === "decrypt") {
      throw new Stopped(msg.msgWrong, current);
    }
    throw new Stopped(msg.msgKeys);
  }
  const seen = Number(window.localStorage.getItem(versionKey(memberId)) ?? 0);
  if (opened.bundleVersion !== held.bundle_version || opened.bundleVersion < seen) {
    wipe(sodium, opened.bundle, opened.keys.sigSeed, opened.keys.sigSk, ...opened.keys.encKeys.map((k) => k.sk));
    throw new Stopped(msg.msgKeys);
  }
  return opened;
}

async function change(oldPassword, newPassword, code) {
  const sodium = await ready();
  const { member } = session;
  const username = member.email.toLowerCase();
  const uid = uidFromHex(member.id);
  const pre = await api("POST", "/api/v1/auth/prelogin", { username });
  let params;
  try {
    params = checkParams(pre.params);
  } catch {
    throw new Stopped(msg.msgParams);
  }
  const oldKeys = await derivePasswordKeysInWorker(oldPassword, b64decode(pre.salt, 16), params);
  let opened = null;
  let newKeys = null;
  try {
    opened = await openKeys(sodium, oldKeys, uid, member.id);
    const salt = randomBytes(SALT_BYTES);
    const newParams = { ...DEFAULT_PARAMS };
    newKeys = await derivePasswordKeysInWorker(newPassword, salt, newParams);
    const bundleVersion = opened.bundleVersion + 1;
    const wrapped = wrapBundle({ bundle: opened.bundle, uid, wrapKey: newKeys.kek, kind: WRAP_PASSWORD, bundleVersion });
    const material = materialBytes({ salt, params: newParams, authPk: newKeys.authPk, wrappedPassword: wrapped });
    const proof = rekeyProof(oldKeys.authSk, {
      origin: window.location.origin,
      username,
      challengeId: b64decode(pre.challenge_id, 16),
      challenge: b64decode(pre.challenge, 32),
      totpCode: code,
      material,
    });
    await api("POST", "/api/v1/account/password", {
      salt: b64encode(salt),
      params: newParams,
      auth_pk: b64encode(newKeys.authPk),
      wrapped_password: b64encode(wrapped),
      challenge_id: pre.challenge_id,
      totp_code: code,
      proof: b64encode(proof),
    });
    window.localStorage.setItem(versionKey(member.id), String(bundleVersion));
  } finally {
    wipe(sodium, oldKeys.kek, oldKeys.authSk, oldKeys.authSeed, newKeys?.kek, newKeys?.authSk, newKeys?.authSeed);
    if (opened !== null) {
      wipe(sodium, opened.bundle, opened.keys.sigSeed, opened.keys.sigSk, ...opened.keys.encKeys.map((k) => k.sk));
    }
  }
}

/** The three passwords and the code, or null after showing what is wrong. */
function checked() {
  for (const [input, id] of [
    [current, "current-error"],
    [fresh, "password-error"],
    [confirmation, "password-error"],
    [totp, "totp-error"],
  ]) {
    fieldError(input, $(id));
  }
  const code = totp.value.replace(/\s/g, "");
  const problems = [
    [!current.value, current, "current-error", msg.msgMissingCurrent],
    [!meter().acceptable, fresh, "password-error", msg.msgWeak],
    [confirmation.value !== fresh.value, confirmation, "password-error", msg.msgMismatch],
    [fresh.value === current.value, fresh, "password-error", msg.msgSame],
    [!/^[0-9]{6}$/.test(code), totp, "totp-error", msg.msgCodeFormat],
  ];
  const problem = problems.find(([failed]) => failed);
  if (problem) {
    const [, input, id, text] = problem;
    fieldError(input, $(id), text);
    input.focus();
    return null;
  }
  return { oldPassword: current.value, newPassword: fresh.value, code };
}

function busy(on) {
  button.disabled = on;
  progress.hidden = !on;
  form.setAttribute("aria-busy", String(on));
  show(status, on ? msg.msgWorking : "");
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (button.disabled || session === null) {
    return;
  }
  const values = checked();
  if (values === null) {
    return;
  }
  busy(true);
  try {
    await change(values.oldPassword, values.newPassword, values.code);
  } catch (error) {
    busy(false);
    failed(error);
    return;
  }
  busy(false);
  form.reset();
  meter();
  form.hidden = true;
  $("password-done").hidden = false;
  $("password-done-title").focus();
});

function failed(error) {
  if (error instanceof Stopped) {
    if (error.input) {
      const id = error.input === current ? "current-error" : "totp-error";
      fieldError(error.input, $(id), error.message);
      error.input.focus();
    } else {
      show(status, error.message, "error");
    }
  } else if (error instanceof ApiError && error.code === "auth.required") {
    // The keys opened, so the current password is right: the code was refused.
    totp.value = "";
    fieldError(totp, $("totp-error"), msg.msgWrong);
    totp.focus();
  } else if (error instanceof ApiError) {
    show(status, errorText(error, msg), "error");
  } else {
    show(status, msg.msgCryptoFailed, "error"); // the worker or libsodium failed here
  }
}

fresh.addEventListener("input", () => {
  meter();
  fieldError(fresh, $("password-error"));
});
for (const [input, id] of [
  [current, "current-error"],
  [confirmation, "password-error"],
  [totp, "totp-error"],
]) {
  input.addEventListener("input", () => fieldError(input, $(id)));
}

async function start() {
  try {
    await ready();
    session = await api("GET", "/api/v1/session");
    personal = personalWords(session.member.name, session.member.email);
    document.documentElement.dataset.sodium = "ready";
  } catch (error) {
    show(status, error instanceof ApiError ? errorText(error, msg) : msg.msgCryptoFailed, "error");
  }
}

start();
