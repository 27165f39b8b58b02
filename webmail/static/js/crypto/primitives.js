// The notation of PROTOCOL.md §1 as functions over libsodium.
import { ensure } from "./errors.js";
import { utf8 } from "./encoding.js";
import { lib } from "./sodium.js";

/** @param {Uint8Array} x @returns {Uint8Array} H256(x), unkeyed BLAKE2b-256 */
export function H256(x) {
  return lib().crypto_generichash(32, x, null);
}

/** @param {Uint8Array} x @returns {Uint8Array} H512(x), unkeyed BLAKE2b-512 */
export function H512(x) {
  return lib().crypto_generichash(64, x, null);
}

/** @param {Uint8Array} key @param {Uint8Array} x @returns {Uint8Array} MAC(k, x), keyed BLAKE2b-256 */
export function MAC(key, x) {
  return lib().crypto_generichash(32, x, key);
}

/**
 * KDF(n, id, ctx, k) = crypto_kdf_derive_from_key.
 * @param {number} length
 * @param {number} id
 * @param {string} context exactly 8 ASCII characters
 * @param {Uint8Array} key 32 bytes
 * @returns {Uint8Array}
 */
export function KDF(length, id, context, key) {
  if (!/^[\x20-\x7e]{8}$/.test(context)) {
    throw new TypeError("a KDF context is 8 printable ASCII characters");
  }
  return lib().crypto_kdf_derive_from_key(length, id, context, key);
}

/** AEAD key, nonce and tag sizes (XChaCha20-Poly1305-IETF). */
export const AEAD_KEY = 32;
export const AEAD_NONCE = 24;
export const AEAD_TAG = 16;

/**
 * AEAD_enc(k, n, m, ad).
 * @param {Uint8Array} key
 * @param {Uint8Array} nonce
 * @param {Uint8Array} message
 * @param {Uint8Array} ad
 * @returns {Uint8Array}
 */
export function aeadEncrypt(key, nonce, message, ad) {
  return lib().crypto_aead_xchacha20poly1305_ietf_encrypt(message, ad, null, nonce, key);
}

/**
 * AEAD decryption; any failure is check `check` (default `decrypt`).
 * @param {Uint8Array} key
 * @param {Uint8Array} nonce
 * @param {Uint8Array} ciphertext
 * @param {Uint8Array} ad
 * @param {string} [check]
 * @returns {Uint8Array}
 */
export function aeadDecrypt(key, nonce, ciphertext, ad, check = "decrypt") {
  let plain = null;
  try {
    plain = lib().crypto_aead_xchacha20poly1305_ietf_decrypt(null, ciphertext, ad, nonce, key);
  } catch {
    plain = null;
  }
  ensure(plain !== null, check, "AEAD tag does not verify");
  return plain;
}

/** @param {number} n @returns {Uint8Array} R(n) from the CSPRNG */
export function randomBytes(n) {
  return lib().randombytes_buf(n);
}

/** @param {Uint8Array} x @returns {Uint8Array} SHA256(x) */
export function SHA256(x) {
  return lib().crypto_hash_sha256(x);
}

/**
 * Ed25519 key pair from a 32-byte seed.
 * @param {Uint8Array} seed
 * @returns {{publicKey: Uint8Array, privateKey: Uint8Array}}
 */
export function signKeyPair(seed) {
  const { publicKey, privateKey } = lib().crypto_sign_seed_keypair(seed);
  return { publicKey, privateKey };
}

/** @param {Uint8Array} secretKey 64-byte Ed25519 secret key @param {Uint8Array} message @returns {Uint8Array} */
export function sign(secretKey, message) {
  return lib().crypto_sign_detached(message, secretKey);
}

/**
 * @param {Uint8Array} publicKey
 * @param {Uint8Array} message
 * @param {Uint8Array} signature
 * @returns {boolean}
 */
export function verify(publicKey, message, signature) {
  try {
    return signature.length === 64 && publicKey.length === 32 && lib().crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}

/** @param {Uint8Array} secretKey X25519 @returns {Uint8Array} the public key */
export function x25519Public(secretKey) {
  return lib().crypto_scalarmult_base(secretKey);
}

/** @param {string} text @returns {Uint8Array} the ASCII/UTF-8 bytes of a label */
export function label(text) {
  return utf8(text);
}
