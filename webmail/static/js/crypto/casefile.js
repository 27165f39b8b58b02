// Case copies of the 24-hour checklist (PROTOCOL.md §12): a random case key per case, wrapped to
// each participant's current X25519 key with a sealed box (like a message's content key); the
// label and the notes encrypted with XChaCha20-Poly1305 under it; each note signed by its author.
import { concat, equal, be64, readBE64, utf8, utf8Decode } from "./encoding.js";
import { ensure } from "./errors.js";
import { encKeyPair, keyId } from "./keys.js";
import { pad, unpad } from "./padding.js";
import { AEAD_KEY, AEAD_NONCE, AEAD_TAG, H512, MAC, aeadDecrypt, aeadEncrypt, label, randomBytes, sign, verify } from "./primitives.js";
import { lib } from "./sodium.js";

export const ID_BYTES = 16;
export const WRAP_BYTES = AEAD_KEY + ID_BYTES + 48;
export const MAX_LABEL = 200; // characters
export const MAX_NOTE = 20000; // characters
const LABEL_MAGIC = label("ISL1");
const NOTE_MAGIC = label("ISN1");
const SUITE = 0x01;
const COMMIT_LABEL = label("ISEC-v1-case-commitment");
const NOTE_SIG_LABEL = label("ISEC-v1-case-note-sig");
export const NOTE_HEAD = 4 + 1 + 3 * ID_BYTES + 8 + AEAD_NONCE;
const SIGNATURE = 64;

/** A new case: its id and key (both random). */
export function newCase(random = randomBytes) {
  return { caseId: random(ID_BYTES), caseKey: random(AEAD_KEY) };
}

/** MAC(case_key, "ISEC-v1-case-commitment" ‖ case_id): every participant checks it after unwrapping. */
export function caseCommitment(caseKey, caseId) {
  return MAC(caseKey, concat(COMMIT_LABEL, caseId));
}

/** SEAL(case_key ‖ case_id, enc_pk) for one participant's current key. */
export function wrapCaseKey(caseKey, caseId, encPk) {
  return { encKid: keyId(encPk), wrap: lib().crypto_box_seal(concat(caseKey, caseId), encPk) };
}

/**
 * Open the caller's wrap with whichever of its encryption keys it names, and check it against the
 * case id and the case's key commitment (`recipient`, `unwrap`, `commitment`).
 * @param {{wrap: Uint8Array, encKid: Uint8Array, caseId: Uint8Array, keyCommit: Uint8Array,
 *   encKeys: {sk: Uint8Array, pk?: Uint8Array, kid?: Uint8Array, created?: number}[]}} o
 * @returns {Uint8Array} the case key
 */
export function unwrapCaseKey({ wrap, encKid, caseId, keyCommit, encKeys }) {
  const key = encKeys
    .map((k) => (k.pk && k.kid ? k : encKeyPair({ created: k.created ?? 0, sk: k.sk })))
    .find((k) => equal(k.kid, encKid));
  ensure(key !== undefined, "recipient", "the case key is wrapped to a key this member does not hold");
  let opened = null;
  try {
    opened = lib().crypto_box_seal_open(wrap, key.pk, key.sk);
  } catch {
    opened = null;
  }
  ensure(
    opened !== null && opened.length === AEAD_KEY + ID_BYTES && equal(opened.subarray(AEAD_KEY), caseId),
    "unwrap",
    "the wrap does not open or names another case",
  );
  const caseKey = opened.slice(0, AEAD_KEY);
  ensure(equal(caseCommitment(caseKey, caseId), keyCommit), "commitment", "another case key than the case's");
  return caseKey;
}

/** "ISL1" ‖ nonce ‖ AEAD(case_key, nonce, pad(label), "ISL1" ‖ case_id ‖ nonce). */
export function sealLabel(caseKey, caseId, text, nonce = randomBytes(AEAD_NONCE)) {
  ensure(typeof text === "string" && text.trim().length > 0 && text.length <= MAX_LABEL, "payload", "label length");
  const ad = concat(LABEL_MAGIC, caseId, nonce);
  return concat(LABEL_MAGIC, nonce, aeadEncrypt(caseKey, nonce, pad(utf8(text)), ad));
}

/** The label text (checks `format`, `decrypt`, `padding`, `payload`). */
export function openLabel(caseKey, caseId, sealed) {
  ensure(sealed.length >= 4 + AEAD_NONCE + AEAD_TAG && equal(sealed.subarray(0, 4), LABEL_MAGIC), "format", "label");
  const nonce = sealed.subarray(4, 4 + AEAD_NONCE);
  const plain = aeadDecrypt(caseKey, nonce, sealed.subarray(4 + AEAD_NONCE), concat(LABEL_MAGIC, caseId, nonce));
  return utf8Decode(unpad(plain), "payload");
}

function noteTranscript(header, padded) {
  return concat(NOTE_SIG_LABEL, H512(header), H512(padded));
}

/**
 * HEADER = "ISN1" ‖ 0x01 ‖ case_id ‖ note_id ‖ author_uid ‖ BE64(created_ms) ‖ nonce;
 * note = HEADER ‖ AEAD(case_key, nonce, pad(text) ‖ SIG(author, transcript), HEADER).
 */
export function sealNote({ caseKey, caseId, authorUid, sigSk, text, createdMs = Date.now(), random = randomBytes }) {
  ensure(typeof text === "string" && text.trim().length > 0 && text.length <= MAX_NOTE, "payload", "note length");
  const noteId = random(ID_BYTES);
  const nonce = random(AEAD_NONCE);
  const header = concat(NOTE_MAGIC, Uint8Array.of(SUITE), caseId, noteId, authorUid, be64(createdMs), nonce);
  const padded = pad(utf8(text));
  const signature = sign(sigSk, noteTranscript(header, padded));
  return concat(header, aeadEncrypt(caseKey, nonce, concat(padded, signature), header));
}

/** The clear header of a note: whose it is and for which case (`version`, `format`). */
export function parseNote(bytes) {
  ensure(bytes instanceof Uint8Array && bytes.length >= NOTE_HEAD + 256 + SIGNATURE + AEAD_TAG, "format", "note size");
  ensure(equal(bytes.subarray(0, 4), NOTE_MAGIC) && bytes[4] === SUITE, "version", "not a case note");
  let at = 5;
  const take = (n) => bytes.subarray(at, (at += n));
  const caseId = take(ID_BYTES);
  const noteId = take(ID_BYTES);
  const authorUid = take(ID_BYTES);
  const createdMs = readBE64(bytes, at);
  at += 8;
  const nonce = take(AEAD_NONCE);
  return { caseId, noteId, authorUid, createdMs, nonce, header: bytes.subarray(0, NOTE_HEAD), ciphertext: bytes.subarray(NOTE_HEAD) };
}

/**
 * Open a note of this case and check the author's signature (`recipient` for another case,
 * `decrypt`, `padding`, `signature`, `payload`). The caller gets sigPk from the key ring.
 */
export function openNote(caseKey, caseId, bytes, authorSigPk) {
  const note = parseNote(bytes);
  ensure(equal(note.caseId, caseId), "recipient", "note of another case");
  const inner = aeadDecrypt(caseKey, note.nonce, note.ciphertext, note.header);
  ensure(inner.length > SIGNATURE, "format", "inner too short");
  const padded = inner.subarray(0, inner.length - SIGNATURE);
  const signature = inner.subarray(inner.length - SIGNATURE);
  ensure(verify(authorSigPk, noteTranscript(note.header, padded), signature), "signature", "note signature");
  return { ...note, text: utf8Decode(unpad(padded), "payload") };
}
