// Sign-in (docs/PROTOCOL.md §3–§4): prelogin gives the salt, the parameters and a single-use
// challenge; Argon2id runs in a worker; the login key signs a transcript that binds the
// challenge to this origin, the user name and the TOTP code; the server answers with the
// session cookie and the wrapped key bundle, which is opened here to prove the keys are intact.
// The password and the keys derived from it never leave this browser.
import { ApiError, call } from "./api.js";
import { b64decode, b64encode, uidFromHex } from "./crypto/encoding.js";
import { CryptoError } from "./crypto/errors.js";
import { WRAP_PASSWORD, checkParams, loginProof, unwrapBundle } from "./crypto/keys.js";
import { derivePasswordKeysInWorker } from "./crypto/pool.js";
import { rememberOwnKeys } from "./keyring.js";
import { ready } from "./crypto/sodium.js";
import { errorText, show } from "./page.js";

const form = document.getElementById("signin-form");
const msg = form.dataset;
const status = document.getElementById("signin-status");
const progress = document.getElementById("signin-progress");
const button = form.querySelector("button[type=submit]");
const username = document.getElementById("username");
const password = document.getElementById("password");
const totp = document.getElementById("totp");

let sodium = null;
const loading = ready().then((loaded) => {
  sodium = loaded;
  document.documentElement.dataset.sodium = "ready";
});
loading.catch(() => show(status, msg.msgCryptoFailed, "error"));

class Stopped extends Error {}

function busy(on) {
  button.disabled = on;
  progress.hidden = !on;
  form.setAttribute("aria-busy", String(on));
  if (on) {
    show(status, msg.msgWorking);
  }
}

/**
 * The highest bundle_version this browser has opened for a member (§2.2: a lower one is a
 * rollback). Kept per member in localStorage; the version is not secret.
 */
function versionKey(memberId) {
  return `isecom.bundle-version.${memberId}`;
}

async function signIn(name, secret, code) {
  const pre = await call("POST", "/api/v1/auth/prelogin", { body: { username: name } });
  let params;
  try {
    params = checkParams(pre.params);
  } catch {
    throw new Stopped(msg.msgParams);
  }
  const derived = await derivePasswordKeysInWorker(secret, b64decode(pre.salt, 16), params);
  try {
    const proof = loginProof(derived.authSk, {
      origin: window.location.origin,
      username: name,
      challengeId: b64decode(pre.challenge_id, 16),
      challenge: b64decode(pre.challenge, 32),
      totpCode: code,
    });
    const done = await call("POST", "/api/v1/auth/login", {
      body: { username: name, challenge_id: pre.challenge_id, totp_code: code, proof: b64encode(proof) },
    });
    await openKeys(done, derived.kek);
  } finally {
    for (const key of [derived.kek, derived.authSk, derived.authSeed]) {
      sodium.memzero(key);
    }
  }
}

async function openKeys(done, kek) {
  const memberId = done.member.id;
  let opened;
  try {
    const wrapped = b64decode(done.wrapped_bundle);
    opened = unwrapBundle(wrapped, { uid: uidFromHex(memberId), wrapKey: kek, kind: WRAP_PASSWORD });
  } catch (error) {
    if (!(error instanceof CryptoError)) {
      throw error;
    }
    opened = null;
  }
  const seen = Number(window.localStorage.getItem(versionKey(memberId)) ?? 0);
  const intact = opened !== null && opened.bundleVersion === done.bundle_version && opened.bundleVersion >= seen;
  if (intact) {
    // Public keys only: the home page compares them with the key log (keycheck.js).
    const encKeys = opened.keys.encKeys;
    rememberOwnKeys(memberId, opened.keys.sigPk, encKeys[encKeys.length - 1].pk);
  }
  if (opened !== null) {
    sodium.memzero(opened.bundle);
    sodium.memzero(opened.keys.sigSeed);
    sodium.memzero(opened.keys.sigSk);
    opened.keys.encKeys.forEach((key) => sodium.memzero(key.sk));
  }
  if (!intact) {
    await call("POST", "/api/v1/auth/logout", { csrf: done.csrf_token }).catch(() => null);
    throw new Stopped(msg.msgKeys);
  }
  window.localStorage.setItem(versionKey(memberId), String(opened.bundleVersion));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (button.disabled) {
    return;
  }
  try {
    await loading;
  } catch {
    show(status, msg.msgCryptoFailed, "error");
    return;
  }
  const name = username.value.trim().toLowerCase();
  const code = totp.value.replace(/\s/g, "");
  if (!name || !password.value || !code) {
    show(status, msg.msgMissing, "error");
    return;
  }
  if (!/^[0-9]{6}$/.test(code)) {
    show(status, msg.msgCodeFormat, "error");
    totp.focus();
    return;
  }
  busy(true);
  try {
    await signIn(name, password.value, code);
  } catch (error) {
    busy(false);
    if (error instanceof Stopped) {
      show(status, error.message, "error");
    } else if (error instanceof ApiError) {
      show(status, errorText(error, msg, { "auth.required": "msgFailed" }), "error");
    } else {
      show(status, msg.msgCryptoFailed, "error"); // the worker or libsodium failed here
    }
    return;
  }
  password.value = "";
  window.location.assign("/home");
});
