// Account keys (PROTOCOL.md §2–§5): the key bundle and its wraps, the password-derived keys,
// the login proof and the recovery code.
import { ensure } from "./errors.js";
import { be32, be64, concat, lp, readBE16, readBE32, readBE64, utf8 } from "./encoding.js";
import {
  AEAD_NONCE,
  AEAD_TAG,
  H256,
  KDF,
  aeadDecrypt,
  aeadEncrypt,
  label,
  randomBytes,
  sign,
  signKeyPair,
  x25519Public,
} from "./primitives.js";
import { lib } from "./sodium.js";

export const SUITE = 0x01;
const BUNDLE_MAGIC = label("ISK1");
const WRAP_MAGIC = label("ISW1");
const BUNDLE_AD = label("ISEC-bundle-v1");
const RECOVERY_LABEL = label("ISEC-recovery-v1");

/** Wrap kinds of §2.2. */
export const WRAP_PASSWORD = 0x01;
export const WRAP_RECOVERY = 0x02;

export const MAX_ENC_KEYS = 64;
const BUNDLE_HEAD = 39;
const BUNDLE_ENTRY = 40;
const WRAP_HEAD = 34;

const MiB = 1024 * 1024;
/** The default password-hashing parameters of §3. */
export const DEFAULT_PARAMS = Object.freeze({ alg: "argon2id13", ops: 3, mem: 64 * MiB });
/** The bounds a reader enforces (check `params`). */
export const PARAM_BOUNDS = Object.freeze({ minOps: 3, maxOps: 10, minMem: 64 * MiB, maxMem: 1024 * MiB });

function startsWith(bytes, prefix) {
  return bytes.length >= prefix.length && prefix.every((byte, i) => bytes[i] === byte);
}

/** @param {Uint8Array} publicKey @returns {Uint8Array} the key id H256(pk) */
export function keyId(publicKey) {
  return H256(publicKey);
}

// --- §2.1 the bundle ------------------------------------------------------------------------

/**
 * @typedef {object} EncKey
 * @property {number} created seconds since the Unix epoch
 * @property {Uint8Array} sk X25519 secret key (32 bytes)
 * @property {Uint8Array} [pk] X25519 public key (derived by parseBundle / encKeyPair)
 * @property {Uint8Array} [kid] H256(pk)
 */

/**
 * @typedef {object} Bundle
 * @property {Uint8Array} sigSeed 32 bytes
 * @property {Uint8Array} sigPk Ed25519 public key
 * @property {Uint8Array} sigSk Ed25519 secret key (64 bytes)
 * @property {Uint8Array} sigKid H256(sigPk)
 * @property {EncKey[]} encKeys oldest first; the last is the current key
 */

/**
 * Complete an encryption key with its public key and key id.
 * @param {{created: number, sk: Uint8Array}} key
 * @returns {Required<EncKey>}
 */
export function encKeyPair({ created, sk }) {
  const pk = x25519Public(sk);
  return { created, sk, pk, kid: keyId(pk) };
}

/**
 * Draw fresh identity keys (§2): a random signing seed and one X25519 key.
 * @param {number} [created] seconds since the epoch (default now)
 * @returns {Bundle}
 */
export function newBundle(created = Math.floor(Date.now() / 1000)) {
  const { privateKey } = lib().crypto_box_keypair();
  return bundleFrom(randomBytes(32), [{ created, sk: privateKey }]);
}

/**
 * @param {Uint8Array} sigSeed
 * @param {{created: number, sk: Uint8Array}[]} encKeys
 * @returns {Bundle}
 */
export function bundleFrom(sigSeed, encKeys) {
  const { publicKey, privateKey } = signKeyPair(sigSeed);
  return { sigSeed, sigPk: publicKey, sigSk: privateKey, sigKid: keyId(publicKey), encKeys: encKeys.map(encKeyPair) };
}

/**
 * The plaintext bundle bytes of §2.1.
 * @param {{sigSeed: Uint8Array, encKeys: {created: number, sk: Uint8Array}[]}} bundle
 * @returns {Uint8Array}
 */
export function serializeBundle({ sigSeed, encKeys }) {
  if (sigSeed.length !== 32) {
    throw new TypeError("sig_seed is 32 bytes");
  }
  if (encKeys.length < 1 || encKeys.length > MAX_ENC_KEYS) {
    throw new RangeError(`a bundle holds 1 to ${MAX_ENC_KEYS} encryption keys`);
  }
  const parts = [BUNDLE_MAGIC, Uint8Array.of(SUITE), sigSeed, Uint8Array.of(encKeys.length >>> 8, encKeys.length & 255)];
  for (const { created, sk } of encKeys) {
    if (sk.length !== 32) {
      throw new TypeError("enc_sk is 32 bytes");
    }
    parts.push(be64(created), sk);
  }
  return concat(...parts);
}

/**
 * Parse plaintext bundle bytes (checks `version`, `format`).
 * @param {Uint8Array} bytes
 * @returns {Bundle}
 */
export function parseBundle(bytes) {
  ensure(bytes.length >= 5, "format", "bundle too short");
  ensure(startsWith(bytes, BUNDLE_MAGIC) && bytes[4] === SUITE, "version", "unknown bundle magic or suite");
  ensure(bytes.length >= BUNDLE_HEAD, "format", "bundle too short");
  const n = readBE16(bytes, 37);
  ensure(n >= 1 && n <= MAX_ENC_KEYS, "format", "number of encryption keys out of bounds");
  ensure(bytes.length === BUNDLE_HEAD + BUNDLE_ENTRY * n, "format", "bundle length");
  const encKeys = [];
  for (let i = 0; i < n; i++) {
    const at = BUNDLE_HEAD + BUNDLE_ENTRY * i;
    encKeys.push({ created: readBE64(bytes, at), sk: bytes.slice(at + 8, at + 40) });
  }
  return bundleFrom(bytes.slice(5, 37), encKeys);
}

// --- §2.2 wrapped bundle ----------------------------------------------------------------------

function wrapAd(uid, bundleVersion, kind) {
  return concat(BUNDLE_AD, uid, be32(bundleVersion), Uint8Array.of(kind));
}

/**
 * Wrap plaintext bundle bytes under a wrapping key (the password `kek` or the recovery key).
 * @param {object} options
 * @param {Uint8Array} options.bundle plaintext bundle bytes (serializeBundle)
 * @param {Uint8Array} options.uid the member's 16-byte uid
 * @param {Uint8Array} options.wrapKey 32 bytes
 * @param {number} options.kind WRAP_PASSWORD or WRAP_RECOVERY
 * @param {number} options.bundleVersion 0 ≤ v < 2^32
 * @param {Uint8Array} [options.nonce] 24 bytes (default R(24))
 * @returns {Uint8Array}
 */
export function wrapBundle({ bundle, uid, wrapKey, kind, bundleVersion, nonce = randomBytes(AEAD_NONCE) }) {
  if (kind !== WRAP_PASSWORD && kind !== WRAP_RECOVERY) {
    throw new RangeError("unknown wrap kind");
  }
  if (uid.length !== 16 || nonce.length !== AEAD_NONCE) {
    throw new TypeError("uid is 16 bytes, nonce 24");
  }
  const head = concat(WRAP_MAGIC, Uint8Array.of(SUITE, kind), be32(bundleVersion), nonce);
  return concat(head, aeadEncrypt(wrapKey, nonce, bundle, wrapAd(uid, bundleVersion, kind)));
}

/**
 * Unwrap a wrapped bundle (checks `version`, `format`, `decrypt`). A wrap of another kind than
 * `kind` is `format`. The caller compares `bundleVersion` with the highest it has seen
 * (rollback).
 * @param {Uint8Array} wrapped
 * @param {object} options
 * @param {Uint8Array} options.uid
 * @param {Uint8Array} options.wrapKey
 * @param {number} options.kind the kind the caller expects
 * @returns {{bundle: Uint8Array, bundleVersion: number, kind: number, keys: Bundle}}
 */
export function unwrapBundle(wrapped, { uid, wrapKey, kind }) {
  ensure(wrapped.length >= 5, "format", "wrapped bundle too short");
  ensure(startsWith(wrapped, WRAP_MAGIC) && wrapped[4] === SUITE, "version", "unknown wrap magic or suite");
  ensure(wrapped.length >= WRAP_HEAD + BUNDLE_HEAD + AEAD_TAG, "format", "wrapped bundle too short");
  const blobKind = wrapped[5];
  ensure(blobKind === kind, "format", "wrap of another kind");
  const bundleVersion = readBE32(wrapped, 6);
  const nonce = wrapped.subarray(10, WRAP_HEAD);
  const bundle = aeadDecrypt(wrapKey, nonce, wrapped.subarray(WRAP_HEAD), wrapAd(uid, bundleVersion, blobKind));
  return { bundle, bundleVersion, kind: blobKind, keys: parseBundle(bundle) };
}

// --- §3 password-derived keys -------------------------------------------------------------------

/**
 * Refuse hashing parameters outside the allowed range, or with other members than alg, ops
 * and mem (check `params`).
 * @param {unknown} params
 * @returns {{alg: string, ops: number, mem: number}}
 */
export function checkParams(params) {
  ensure(params !== null && typeof params === "object", "params", "params is not an object");
  const names = Object.keys(params);
  ensure(names.length === 3 && ["alg", "ops", "mem"].every((n) => Object.hasOwn(params, n)), "params", "params members");
  const { alg, ops, mem } = /** @type {any} */ (params);
  ensure(alg === "argon2id13", "params", "unknown password-hashing algorithm");
  ensure(Number.isSafeInteger(ops) && ops >= PARAM_BOUNDS.minOps && ops <= PARAM_BOUNDS.maxOps, "params", "ops");
  ensure(Number.isSafeInteger(mem) && mem >= PARAM_BOUNDS.minMem && mem <= PARAM_BOUNDS.maxMem, "params", "mem");
  return { alg, ops, mem };
}

/**
 * UTF-8(NFKC(password)).
 * @param {string} password
 * @returns {Uint8Array}
 */
export function passwordBytes(password) {
  if (typeof password !== "string" || (typeof password.isWellFormed === "function" && !password.isWellFormed())) {
    throw new TypeError("the password must be a well-formed string");
  }
  return utf8(password.normalize("NFKC"));
}

/**
 * @typedef {object} PasswordKeys
 * @property {Uint8Array} authSeed KDF(32, 1, "ISECauth", m)
 * @property {Uint8Array} authPk Ed25519 public key the server stores
 * @property {Uint8Array} authSk Ed25519 secret key that signs the login transcript
 * @property {Uint8Array} kek key-wrapping key, KDF(32, 2, "ISECkek_", m)
 */

/**
 * Password → login key pair and key-wrapping key (§3). Argon2id with 64 MiB takes a few
 * tenths of a second: call it from argon2.worker.js in pages.
 * @param {string} password
 * @param {Uint8Array} salt 16 bytes
 * @param {{alg: string, ops: number, mem: number}} params
 * @returns {PasswordKeys}
 */
export function derivePasswordKeys(password, salt, params) {
  const { ops, mem } = checkParams(params);
  ensure(salt instanceof Uint8Array && salt.length === 16, "format", "salt is 16 bytes");
  const sodium = lib();
  const m = sodium.crypto_pwhash(32, passwordBytes(password), salt, ops, mem, sodium.crypto_pwhash_ALG_ARGON2ID13);
  const authSeed = KDF(32, 1, "ISECauth", m);
  const kek = KDF(32, 2, "ISECkek_", m);
  sodium.memzero(m);
  const { publicKey, privateKey } = signKeyPair(authSeed);
  return { authSeed, authPk: publicKey, authSk: privateKey, kek };
}

// --- §4 login proof -----------------------------------------------------------------------------

/**
 * @typedef {object} LoginFields
 * @property {string} origin ASCII serialisation, e.g. "https://isecom.example" (location.origin)
 * @property {string} username the e-mail address as typed; lower-cased here
 * @property {Uint8Array} challengeId 16 bytes
 * @property {Uint8Array} challenge 32 bytes
 * @property {string} totpCode six ASCII digits
 */

/** The purposes of the account transcripts of §4.1. */
export const ACCOUNT_PURPOSES = Object.freeze(["login", "rekey", "recover"]);

/**
 * An account transcript of §4.1: "ISEC-" ‖ purpose ‖ "-v1\0" ‖ lp(origin) ‖ lp(username)
 * ‖ challenge_id ‖ challenge ‖ lp(totp_code) [‖ H256(material)]. Login has no material.
 * @param {"login"|"rekey"|"recover"} purpose
 * @param {LoginFields & {material?: Uint8Array}} fields
 * @returns {Uint8Array}
 */
export function accountTranscript(purpose, { origin, username, challengeId, challenge, totpCode, material }) {
  if (!ACCOUNT_PURPOSES.includes(purpose)) {
    throw new RangeError("unknown purpose");
  }
  ensure(typeof origin === "string" && /^[\x21-\x7e]+$/.test(origin), "format", "origin is not ASCII");
  ensure(typeof username === "string", "format", "username");
  ensure(challengeId instanceof Uint8Array && challengeId.length === 16, "format", "challenge_id is 16 bytes");
  ensure(challenge instanceof Uint8Array && challenge.length === 32, "format", "challenge is 32 bytes");
  ensure(typeof totpCode === "string" && /^[0-9]{6}$/.test(totpCode), "format", "totp_code is six digits");
  const parts = [
    label(`ISEC-${purpose}-v1\0`),
    lp(utf8(origin)),
    lp(utf8(username.toLowerCase())),
    challengeId,
    challenge,
    lp(utf8(totpCode)),
  ];
  if (material !== undefined && material.length > 0) {
    parts.push(H256(material));
  }
  return concat(...parts);
}

/**
 * The login transcript of §4 (account transcript "login").
 * @param {LoginFields} fields
 * @returns {Uint8Array}
 */
export function loginTranscript(fields) {
  const { origin, username, challengeId, challenge, totpCode } = fields;
  return accountTranscript("login", { origin, username, challengeId, challenge, totpCode });
}

/**
 * proof = SIGN(auth_sk, transcript).
 * @param {Uint8Array} authSk 64-byte Ed25519 secret key (derivePasswordKeys().authSk)
 * @param {LoginFields} fields
 * @returns {Uint8Array} 64 bytes
 */
export function loginProof(authSk, fields) {
  return sign(authSk, loginTranscript(fields));
}

/**
 * The new credentials a rekey or recovery proof binds (§4.1): lp(salt) ‖ lp("argon2id13")
 * ‖ BE32(ops) ‖ BE64(mem) ‖ lp(auth_pk) ‖ lp(wrapped_password) ‖ lp(wrapped_recovery), the last
 * empty for a password change.
 * @param {object} options
 * @param {Uint8Array} options.salt
 * @param {{alg: string, ops: number, mem: number}} options.params
 * @param {Uint8Array} options.authPk
 * @param {Uint8Array} options.wrappedPassword
 * @param {Uint8Array} [options.wrappedRecovery]
 * @returns {Uint8Array}
 */
export function materialBytes({ salt, params, authPk, wrappedPassword, wrappedRecovery = new Uint8Array(0) }) {
  const { alg, ops, mem } = checkParams(params);
  return concat(lp(salt), lp(utf8(alg)), be32(ops), be64(mem), lp(authPk), lp(wrappedPassword), lp(wrappedRecovery));
}

/**
 * A password-change proof (§4.1): SIGN(current auth_sk, account("rekey", material)).
 * @param {Uint8Array} authSk the current password's 64-byte login secret key
 * @param {LoginFields & {material: Uint8Array}} fields
 * @returns {Uint8Array} 64 bytes
 */
export function rekeyProof(authSk, fields) {
  return sign(authSk, accountTranscript("rekey", fields));
}

/**
 * A recovery proof (§4.1): SIGN(sig_sk, account("recover", material)), signed with the identity
 * signing key that the recovery wrap yields.
 * @param {Uint8Array} sigSk the identity's 64-byte Ed25519 secret key (Bundle.sigSk)
 * @param {LoginFields & {material: Uint8Array}} fields
 * @returns {Uint8Array} 64 bytes
 */
export function recoverProof(sigSk, fields) {
  return sign(sigSk, accountTranscript("recover", fields));
}

// --- §5 recovery code ---------------------------------------------------------------------------

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const RECOVERY_BYTES = 16;
const RECOVERY_CHARS = 26;

/**
 * The recovery code shown once: base32 in groups of four, e.g. "ABCD-EFGH-…-YZ".
 * @param {Uint8Array} rk 16 bytes
 * @returns {string}
 */
export function formatRecoveryCode(rk) {
  if (!(rk instanceof Uint8Array) || rk.length !== RECOVERY_BYTES) {
    throw new TypeError("a recovery key is 16 bytes");
  }
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of rk) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  out += BASE32[(value << (5 - bits)) & 31];
  return out.match(/.{1,4}/g).join("-");
}

/**
 * Parse a recovery code as typed (check `format`): "-" and spaces are dropped, ASCII letters
 * upper-cased, then exactly 26 characters of A–Z 2–7 whose last one ends in two zero bits.
 * @param {string} text
 * @returns {Uint8Array} RK, 16 bytes
 */
export function parseRecoveryCode(text) {
  ensure(typeof text === "string", "format", "recovery code is not a string");
  const compact = text.replace(/[- ]/g, "").replace(/[a-z]/g, (c) => c.toUpperCase());
  ensure(compact.length === RECOVERY_CHARS && /^[A-Z2-7]+$/.test(compact), "format", "recovery code characters");
  const rk = new Uint8Array(RECOVERY_BYTES);
  let bits = 0;
  let value = 0;
  let o = 0;
  for (const c of compact) {
    value = (value << 5) | BASE32.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      rk[o++] = (value >>> (bits - 8)) & 255;
      bits -= 8;
      value &= (1 << bits) - 1;
    }
  }
  ensure(bits === 2 && value === 0, "format", "recovery code: non-zero trailing bits");
  return rk;
}

/**
 * A new recovery code: RK = R(16) and its printed form.
 * @returns {{rk: Uint8Array, code: string}}
 */
export function newRecoveryCode() {
  const rk = randomBytes(RECOVERY_BYTES);
  return { rk, code: formatRecoveryCode(rk) };
}

/**
 * recovery_key = KDF(32, 4, "ISECrcvr", H256("ISEC-recovery-v1" ‖ RK)).
 * @param {Uint8Array} rk 16 bytes
 * @returns {Uint8Array} 32 bytes
 */
export function recoveryKey(rk) {
  if (!(rk instanceof Uint8Array) || rk.length !== RECOVERY_BYTES) {
    throw new TypeError("a recovery key is 16 bytes");
  }
  return KDF(32, 4, "ISECrcvr", H256(concat(RECOVERY_LABEL, rk)));
}
