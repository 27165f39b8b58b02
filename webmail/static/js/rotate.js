// Renew the encryption key (docs/PROTOCOL.md §4.2), for a signed-in member:
//   POST /auth/prelogin    the salt, the parameters and a single-use challenge;
//   GET  /account/rotate   both wraps, their bundle_version and the current key statement;
//   in this browser        Argon2id (worker) on the password opens the password wrap; the
//                          recovery code must open the recovery wrap to the same identity; a
//                          new X25519 key is added (the old ones stay, so old mail opens); the
//                          new bundle is wrapped under the same password key and the same
//                          recovery code at bundle_version + 1; the next key statement
//                          (seqno + 1, prev = H256(current)) is signed with the identity key;
//                          a "rekey" proof with the login key binds both new wraps;
//   POST /account/rotate   the server checks proof and TOTP code, stores both wraps and logs
//                          the key statement in one transaction. Sessions stay signed in.
// The password, the recovery code and every private key stay in this browser.
import { ApiError, call } from "./api.js";
import { b64decode, b64encode, equal, uidFromHex } from "./crypto/encoding.js";
import { CryptoError } from "./crypto/errors.js";
import {
  MAX_ENC_KEYS,
  WRAP_PASSWORD,
  WRAP_RECOVERY,
  bundleFrom,
  checkParams,
  materialBytes,
  parseRecoveryCode,
  recoveryKey,
  rekeyProof,
  serializeBundle,
  unwrapBundle,
  wrapBundle,
} from "./crypto/keys.js";
import { keyStatement, parseKeyStatement } from "./crypto/keytrans.js";
import { derivePasswordKeysInWorker } from "./crypto/pool.js";
import { ready } from "./crypto/sodium.js";
import { rememberOwnKeys } from "./keyring.js";
import { errorText, fieldError, fill, nextFrame, show } from "./page.js";

const root = document.getElementById("rotate-page");
const msg = root.dataset;
const $ = (id) => document.getElementById(id);
const form = $("rotate-form");
const status = $("rotate-status");
const progress = $("rotate-progress");
const button = form.querySelector("button[type=submit]");
const password = $("rotate-password");
const recovery = $("rotate-recovery");
const totp = $("rotate-totp");
const ERRORS = new Map([
  [password, "rotate-password-error"],
  [recovery, "rotate-recovery-error"],
  [totp, "rotate-totp-error"],
]);

let session = null; // {member, csrf_token}

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
    // A refused rotation is 401 too (the code or the proof); the page explains that one itself.
    const rotation = method === "POST" && path === "/api/v1/account/rotate";
    if (error instanceof ApiError && error.status === 401 && !rotation) {
      window.location.assign("/signin");
      return new Promise(() => {}); // the page is going away
    }
    throw error;
  }
}

async function step(n) {
  progress.value = n - 1;
  show(status, msg[`msgStep-${n}`]);
  await nextFrame();
}

function keysOf(opened) {
  if (opened === null) {
    return [];
  }
  return [opened.bundle, opened.keys.sigSeed, opened.keys.sigSk, ...opened.keys.encKeys.map((k) => k.sk)];
}

/** Open, extend, re-wrap, sign and send; returns what the server answered. */
async function rotate(passwordText, rk, code) {
  const sodium = await ready();
  const { member } = session;
  const username = member.email.toLowerCase();
  const uid = uidFromHex(member.id);
  const secrets = [rk];
  let opened = null;
  let backup = null;
  try {
    await step(1);
    const pre = await api("POST", "/api/v1/auth/prelogin", { username });
    let params;
    try {
      params = checkParams(pre.params);
    } catch {
      throw new Stopped(msg.msgParams);
    }
    const salt = b64decode(pre.salt, 16);
    const derived = await derivePasswordKeysInWorker(passwordText, salt, params);
    secrets.push(derived.kek, derived.authSk, derived.authSeed);
    const held = await api("GET", "/api/v1/account/rotate");
    try {
      opened = unwrapBundle(b64decode(held.wrapped_password), { uid, wrapKey: derived.kek, kind: WRAP_PASSWORD });
    } catch (error) {
      throw error instanceof CryptoError && error.check === "decrypt"
        ? new Stopped(msg.msgWrongPassword, password)
        : new Stopped(msg.msgKeys);
    }
    const seen = Number(window.localStorage.getItem(versionKey(member.id)) ?? 0);
    if (opened.bundleVersion !== held.bundle_version || opened.bundleVersion < seen) {
      throw new Stopped(msg.msgKeys); // an older wrap than this browser saw: a rollback
    }

    await step(2);
    const recoveryWrapKey = recoveryKey(rk);
    secrets.push(recoveryWrapKey);
    try {
      backup = unwrapBundle(b64decode(held.wrapped_recovery), { uid, wrapKey: recoveryWrapKey, kind: WRAP_RECOVERY });
    } catch (error) {
      throw error instanceof CryptoError && error.check === "decrypt"
        ? new Stopped(msg.msgCodeWrong, recovery)
        : new Stopped(msg.msgKeys);
    }
    if (!equal(backup.keys.sigPk, opened.keys.sigPk)) {
      throw new Stopped(msg.msgCodeWrong, recovery); // a code for other keys
    }
    let current;
    try {
      current = parseKeyStatement(b64decode(held.key_statement));
    } catch {
      current = null;
    }
    if (current === null || !equal(current.uid, uid) || !equal(current.sigPk, opened.keys.sigPk)) {
      throw new Stopped(msg.msgStatement);
    }
    if (opened.keys.encKeys.length >= MAX_ENC_KEYS) {
      throw new Stopped(msg.msgFull);
    }

    await step(3);
    const created = Math.floor(Date.now() / 1000);
    const { privateKey } = sodium.crypto_box_keypair();
    secrets.push(privateKey);
    const older = opened.keys.encKeys.map(({ created: at, sk }) => ({ created: at, sk }));
    const encKeys = [...older, { created, sk: privateKey }];
    const rotated = bundleFrom(opened.keys.sigSeed, encKeys);
    const newPk = rotated.encKeys[rotated.encKeys.length - 1].pk;
    const bundle = serializeBundle(rotated);
    secrets.push(bundle, rotated.sigSk);
    const bundleVersion = opened.bundleVersion + 1;
    const wrappedPassword = wrapBundle({ bundle, uid, wrapKey: derived.kek, kind: WRAP_PASSWORD, bundleVersion });
    const wrappedRecovery = wrapBundle({ bundle, uid, wrapKey: recoveryWrapKey, kind: WRAP_RECOVERY, bundleVersion });
    const statement = keyStatement({
      sigSk: opened.keys.sigSk,
      sigPk: opened.keys.sigPk,
      uid,
      email: current.email,
      seqno: current.seqno + 1,
      prev: current.hash,
      encPk: newPk,
      created,
    });
    const material = materialBytes({ salt, params, authPk: derived.authPk, wrappedPassword, wrappedRecovery });
    const proof = rekeyProof(derived.authSk, {
      origin: window.location.origin,
      username,
      challengeId: b64decode(pre.challenge_id, 16),
      challenge: b64decode(pre.challenge, 32),
      totpCode: code,
      material,
    });

    await step(4);
    const done = await api("POST", "/api/v1/account/rotate", {
      wrapped_password: b64encode(wrappedPassword),
      wrapped_recovery: b64encode(wrappedRecovery),
      key_statement: b64encode(statement),
      challenge_id: pre.challenge_id,
      totp_code: code,
      proof: b64encode(proof),
    });
    progress.value = 4;
    window.localStorage.setItem(versionKey(member.id), String(bundleVersion));
    // Public keys only: the home page compares them with the key log (keycheck.js).
    rememberOwnKeys(member.id, opened.keys.sigPk, newPk);
    return { seqno: done.seqno, count: encKeys.length };
  } finally {
    for (const secret of [...secrets, ...keysOf(opened), ...keysOf(backup)]) {
      if (secret) {
        sodium.memzero(secret);
      }
    }
  }
}

/** The password, the recovery key and the code, or null after showing what is wrong. */
function checked() {
  for (const [input, id] of ERRORS) {
    fieldError(input, $(id));
  }
  const code = totp.value.replace(/\s/g, "");
  let rk = null;
  try {
    rk = parseRecoveryCode(recovery.value);
  } catch {
    rk = null;
  }
  const problems = [
    [!password.value, password, msg.msgMissingPassword],
    [rk === null, recovery, msg.msgCodeShape],
    [!/^[0-9]{6}$/.test(code), totp, msg.msgTotpFormat],
  ];
  const problem = problems.find(([failed]) => failed);
  if (problem) {
    const [, input, text] = problem;
    fieldError(input, $(ERRORS.get(input)), text);
    input.focus();
    return null;
  }
  return { passwordText: password.value, rk, code };
}

function busy(on) {
  button.disabled = on;
  progress.hidden = !on;
  form.setAttribute("aria-busy", String(on));
  if (!on) {
    progress.value = 0;
  }
}

function failed(error) {
  show(status, "");
  if (error instanceof Stopped) {
    if (error.input) {
      fieldError(error.input, $(ERRORS.get(error.input)), error.message);
      error.input.focus();
    } else {
      show(status, error.message, "error");
    }
  } else if (error instanceof ApiError && error.code === "auth.required") {
    // The password opened the keys here, so it was the authentication code that was refused.
    totp.value = "";
    fieldError(totp, $("rotate-totp-error"), msg.msgTotpWrong);
    totp.focus();
  } else if (error instanceof ApiError) {
    show(status, errorText(error, msg), "error");
  } else {
    show(status, msg.msgCryptoFailed, "error"); // the worker or libsodium failed here
  }
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
  let result;
  try {
    result = await rotate(values.passwordText, values.rk, values.code);
  } catch (error) {
    busy(false);
    failed(error);
    return;
  }
  busy(false);
  form.reset();
  show(status, "");
  const numbers = new Intl.NumberFormat(document.documentElement.lang);
  $("rotate-done-detail").textContent = fill(msg.msgDone, {
    number: numbers.format(result.seqno + 1),
    count: numbers.format(result.count),
  });
  form.hidden = true;
  $("rotate-about").hidden = true;
  $("rotate-done").hidden = false;
  $("rotate-done-title").focus();
});

for (const [input, id] of ERRORS) {
  input.addEventListener("input", () => fieldError(input, $(id)));
}

async function start() {
  try {
    await ready();
    session = await api("GET", "/api/v1/session");
    document.documentElement.dataset.sodium = "ready";
  } catch (error) {
    show(status, error instanceof ApiError ? errorText(error, msg) : msg.msgCryptoFailed, "error");
  }
}

start();
