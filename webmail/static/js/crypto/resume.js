// The resume record of an unfinished upload (PROTOCOL.md §8.6): what a browser needs to finish a
// one-pass upload after a page reload or a server restart — the file's key, id and sizes, its name
// and type, and a hash of the first chunk to recognise the same file — sealed to the member's own
// X25519 key and kept by the server with the declaration. The server sees a sealed box of a padded
// length: no key, no name. The SHA-256 and the manifest root are not in it: they are known only
// once the whole file has been read, and a resumed upload reads it again.
import { CryptoError, ensure } from "./errors.js";
import { MAX_FILE_SIZE, chunkCount, chunkLength, isChunkSize } from "./attachments.js";
import { b64decode, b64encode, equal, utf8, utf8Decode } from "./encoding.js";
import { H256 } from "./primitives.js";
import { lib } from "./sodium.js";

/** The record's JSON is padded with spaces to a multiple of this, so its length hides the name's. */
export const RESUME_PAD = 512;
/** The record's version: 2 since uploads are one pass (a version-1 record does not open). */
export const RESUME_VERSION = 2;

/**
 * @typedef {object} ResumeRecord
 * @property {{fileKey: Uint8Array, fileId: Uint8Array, size: number, chunkSize: number, nChunks: number}} file
 * @property {string} name
 * @property {string} mime
 * @property {Uint8Array} head H256 of the first chunk's plaintext
 */

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
 * @param {ResumeRecord} record
 * @returns {Uint8Array} the sealed box
 */
export function sealResume(ownEncPk, { file, name, mime, head }) {
  const text = JSON.stringify({
    v: RESUME_VERSION,
    file: {
      file_id: b64encode(file.fileId),
      name,
      mime,
      size: file.size,
      chunk_size: file.chunkSize,
      n_chunks: file.nChunks,
      file_key: b64encode(file.fileKey),
    },
    head: b64encode(head),
  });
  const bytes = utf8(text);
  const padded = new Uint8Array(Math.ceil((bytes.length + 1) / RESUME_PAD) * RESUME_PAD).fill(0x20);
  padded.set(bytes);
  return lib().crypto_box_seal(padded, ownEncPk);
}

/**
 * @param {unknown} value the parsed JSON
 * @returns {ResumeRecord}
 */
function parseRecord(value) {
  ensure(value !== null && typeof value === "object" && value.v === RESUME_VERSION, "format", "resume record");
  const f = value.file;
  ensure(f !== null && typeof f === "object", "format", "resume record file");
  ensure(typeof f.name === "string" && typeof f.mime === "string", "format", "resume record name");
  ensure(Number.isSafeInteger(f.size) && f.size >= 0 && f.size <= MAX_FILE_SIZE, "format", "resume record size");
  ensure(isChunkSize(f.chunk_size) && f.n_chunks === chunkCount(f.size, f.chunk_size), "format", "resume record chunks");
  return {
    file: {
      fileId: b64decode(f.file_id, 16),
      fileKey: b64decode(f.file_key, 32),
      size: f.size,
      chunkSize: f.chunk_size,
      nChunks: f.n_chunks,
    },
    name: f.name,
    mime: f.mime,
    head: b64decode(value.head, 32),
  };
}

/**
 * Open a resume record with any of the member's encryption keys (the current one sealed it,
 * unless it was rotated since). `null` when none opens it or it is not a record of this version.
 * @param {{pk: Uint8Array, sk: Uint8Array}[]} encKeys
 * @param {Uint8Array} sealed
 * @returns {ResumeRecord|null}
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
      return parseRecord(JSON.parse(utf8Decode(plain, "format")));
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
 * @param {ResumeRecord} record
 * @param {File} file
 * @returns {Promise<boolean>}
 */
export async function sameFile(record, file) {
  if (file.name !== record.name || file.size !== record.file.size) {
    return false;
  }
  return equal(await headHash(file, record.file.chunkSize), record.head);
}
