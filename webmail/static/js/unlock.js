// Unlock the signed-in member's own keys in this browser, for one signature:
//   POST /auth/prelogin   the salt and parameters (its single-use challenge is left to expire);
//   GET  /account/keys    the password wrap (useless without the password);
//   in this browser       Argon2id (worker) on the password, then the wrap opened (PROTOCOL.md §2–§3).
// The caller signs, then calls close(), which wipes every secret; nothing is kept. The mailbox
// (mail.js) keeps the unlocked keys in memory for the life of its page and closes them on leaving.
import { b64decode, uidFromHex } from "./crypto/encoding.js";
import { CryptoError } from "./crypto/errors.js";
import { WRAP_PASSWORD, checkParams, unwrapBundle } from "./crypto/keys.js";
import { derivePasswordKeysInWorker } from "./crypto/pool.js";
import { ready } from "./crypto/sodium.js";

/** The password does not open the keys (or the parameters are not ours). */
export class WrongPassword extends Error {}

/**
 * @param {string} password
 * @param {{id: string, email: string}} member the signed-in member
 * @param {(method: string, path: string, body?: object) => Promise<any>} api
 * @returns {Promise<{sigSk: Uint8Array, sigPk: Uint8Array, sigSeed: Uint8Array,
 *   encKeys: {created: number, sk: Uint8Array, pk: Uint8Array, kid: Uint8Array}[], close: () => void}>}
 *   (encKeys and sigSeed for the mailbox, which keeps them in memory until close())
 */
export async function unlockKeys(password, member, api) {
  const sodium = await ready();
  const pre = await api("POST", "/api/v1/auth/prelogin", { username: member.email.toLowerCase() });
  let params;
  try {
    params = checkParams(pre.params);
  } catch {
    throw new WrongPassword("parameters");
  }
  const derived = await derivePasswordKeysInWorker(password, b64decode(pre.salt, 16), params);
  try {
    const held = await api("GET", "/api/v1/account/keys");
    let opened;
    try {
      opened = unwrapBundle(b64decode(held.wrapped_bundle), {
        uid: uidFromHex(member.id),
        wrapKey: derived.kek,
        kind: WRAP_PASSWORD,
      });
    } catch (error) {
      if (error instanceof CryptoError) {
        throw new WrongPassword(error.check);
      }
      throw error;
    }
    const { keys, bundle } = opened;
    return {
      sigSk: keys.sigSk,
      sigPk: keys.sigPk,
      sigSeed: keys.sigSeed,
      encKeys: keys.encKeys,
      close() {
        for (const secret of [bundle, keys.sigSeed, keys.sigSk, ...keys.encKeys.map((k) => k.sk)]) {
          sodium.memzero(secret);
        }
      },
    };
  } finally {
    for (const secret of [derived.kek, derived.authSk, derived.authSeed]) {
      sodium.memzero(secret);
    }
  }
}
