// The resume record of an unfinished upload (PROTOCOL.md §8.6): what a browser needs to finish an
// upload after a page reload or a server restart — the §8.3 descriptor (file key, name, sizes,
// SHA-256, manifest root), the seed its chunk nonces derive from, and a hash of the first chunk
// to recognise the same file — sealed to the member's own X25519 key and kept by the server with
// the declaration. The server sees a sealed box of a padded length: no key, no name, no hash.
import { CryptoError, ensure } from "./errors.js";
import { validateDescriptor, descriptorJson, chunkLength } from "./attachments.js";
import { b64decode, b64encode, be64, concat, equal, utf8, utf8Decode } from "./encoding.js";
import { AEAD_NONCE, H256, label } from "./primitives.js";
import { lib } from "./sodium.js";

const NONCE_LABEL = label("ISEC-chunk-nonce-v1");
/** The record's JSON is padded with spaces to a multiple of this, so its length hides the name's. */
export const RESUME_PAD = 512;
export const NONCE_SEED = 32;

/**
 * nonce_i = MAC₂₄(nonce_seed, "ISEC-chunk-nonce-v1" ‖ BE64(i)): keyed BLAKE2b with a 24-byte output.
 * @param {Uint8Array} seed 32 random bytes, one per file
 * @param {number} index
 * @returns {Uint8Array} 24 bytes
 */
export function chunkNonce(seed, index) {
  return lib().crypto_generichash(AEAD_NONCE, concat(NONCE_LABEL, be64(index)), seed);
}

/**
 * head = H256(P_0): the first chunk's plaintext, to recognise the same file picked again.
 * @param {Blob} file
 * @param {number} chunkSize
 * @returns {Promise<Uint8Array>}
 */
export async function headHash(file, chunkSize) {
  const first = new Uint8Array(await file.slice(0, chunkLength(0, file.size, chunkSize)).arrayBuffer());
  return H256(first);
}

/**
 * Seal a resume record to the owner's current X25519 public key.
 * @param {Uint8Array} ownEncPk
 * @param {{descriptor: import("./attachments.js").Descriptor, nonceSeed: Uint8Array, head: Uint8Array}} record
 * @returns {Uint8Array} the sealed box
 */
export function sealResume(ownEncPk, { descriptor, nonceSeed, head }) {
  const text = JSON.stringify({ v: 1, descriptor: descriptorJson(descriptor), nonce_seed: b64encode(nonceSeed), head: b64encode(head) });
  const bytes = utf8(text);
  const padded = new Uint8Array(Math.ceil((bytes.length + 1) / RESUME_PAD) * RESUME_PAD).fill(0x20);
  padded.set(bytes);
  return lib().crypto_box_seal(padded, ownEncPk);
}

/**
 * Open a resume record with any of the member's encryption keys (the current one sealed it,
 * unless it was rotated since). `null` when none opens it or it is not a record.
 * @param {{pk: Uint8Array, sk: Uint8Array}[]} encKeys
 * @param {Uint8Array} sealed
 * @returns {{descriptor: import("./attachments.js").Descriptor, nonceSeed: Uint8Array, head: Uint8Array}|null}
 */
export function openResume(encKeys, sealed) {
  for (const key of [...encKeys].reverse()) {
    let plain;
    try {
      plain = lib().crypto_box_seal_open(sealed, key.pk, key.sk);
    } catch {
      continue;
    }
    try {
      const value = JSON.parse(utf8Decode(plain, "format"));
      ensure(value !== null && typeof value === "object" && value.v === 1, "format", "resume record");
      return {
        descriptor: validateDescriptor(value.descriptor),
        nonceSeed: b64decode(value.nonce_seed, NONCE_SEED),
        head: b64decode(value.head, 32),
      };
    } catch (error) {
      if (error instanceof CryptoError || error instanceof SyntaxError) {
        return null;
      }
      throw error;
    }
  }
  return null;
}

/**
 * Is `file` the file of this record? Name, size, then the first chunk's hash.
 * @param {{descriptor: import("./attachments.js").Descriptor, head: Uint8Array}} record
 * @param {File} file
 * @returns {Promise<boolean>}
 */
export async function sameFile(record, file) {
  const d = record.descriptor;
  if (file.name !== d.name || file.size !== d.size) {
    return false;
  }
  return equal(await headHash(file, d.chunkSize), record.head);
}
