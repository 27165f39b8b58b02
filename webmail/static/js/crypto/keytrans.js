// Key statements and the key log (docs/PROTOCOL.md §9), byte-identical to isecom/crypto/keytrans.py.

import { be32, be64, concat, lp, utf8 } from "./encoding.js";
import { sign } from "./primitives.js";

export const SUITE = 0x01;
export const KS_TAG = utf8("ISEC-keys-v1");
export const ZERO32 = new Uint8Array(32);
const MAX_TEXT = 320;

/**
 * lp(NFC UTF-8) of a text field (§9.1).
 * @param {string} value
 * @returns {Uint8Array}
 */
export function textField(value) {
  const raw = utf8(value.normalize("NFC"));
  if (raw.length > MAX_TEXT) {
    throw new RangeError("text field too long");
  }
  return lp(raw);
}

/**
 * A key statement (§9.2): body ‖ SIGN(sig_sk, body), the self-signature proving possession.
 * @param {{sigSk: Uint8Array, sigPk: Uint8Array, uid: Uint8Array, email: string, seqno: number,
 *          prev: Uint8Array, encPk: Uint8Array, created: number}} fields
 * @returns {Uint8Array}
 */
export function keyStatement({ sigSk, sigPk, uid, email, seqno, prev, encPk, created }) {
  const body = concat(
    KS_TAG,
    Uint8Array.of(SUITE),
    uid,
    textField(email),
    be32(seqno),
    prev,
    sigPk,
    encPk,
    be64(created),
  );
  return concat(body, sign(sigSk, body));
}
