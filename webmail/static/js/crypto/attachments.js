// Evidence attachments (PROTOCOL.md §8): independent AEAD chunks, the manifest root, the
// descriptor carried in the signed payload, and a whole-file reader with the checks of §8.4.
import { CryptoError, ensure } from "./errors.js";
import { b64decode, b64encode, be64, concat, equal } from "./encoding.js";
import { AEAD_NONCE, AEAD_TAG, H256, SHA256, aeadDecrypt, aeadEncrypt, label, randomBytes } from "./primitives.js";
import { lib } from "./sodium.js";

const KiB = 1024;
export const MIN_CHUNK_SIZE = 64 * KiB;
export const MAX_CHUNK_SIZE = 16 * KiB * KiB;
export const DEFAULT_CHUNK_SIZE = 4 * KiB * KiB;
/** Largest file size (1 TiB; PROTOCOL.md gives no number, isecom/crypto uses the same). */
export const MAX_FILE_SIZE = 2 ** 40;
/** Bytes a chunk blob adds to its plaintext: nonce and tag. */
export const CHUNK_OVERHEAD = AEAD_NONCE + AEAD_TAG;

const CHUNK_LABEL = label("ISEC-chunk-v1");
const MANIFEST_LABEL = label("ISEC-manifest-v1");
const DESCRIPTOR_MEMBERS = ["file_id", "name", "mime", "size", "chunk_size", "n_chunks", "file_key", "sha256", "manifest_root"];

/**
 * @typedef {object} Descriptor a validated §8.3 descriptor, bytes decoded
 * @property {Uint8Array} fileId 16 bytes
 * @property {string} name
 * @property {string} mime
 * @property {number} size plain_size
 * @property {number} chunkSize
 * @property {number} nChunks
 * @property {Uint8Array} fileKey 32 bytes
 * @property {Uint8Array} sha256 32 bytes
 * @property {Uint8Array} manifestRoot 32 bytes
 */

/**
 * True for an allowed chunk size: a power of two from 64 KiB to 16 MiB.
 * @param {unknown} chunkSize
 * @returns {boolean}
 */
export function isChunkSize(chunkSize) {
  return (
    Number.isSafeInteger(chunkSize) &&
    chunkSize >= MIN_CHUNK_SIZE &&
    chunkSize <= MAX_CHUNK_SIZE &&
    (chunkSize & (chunkSize - 1)) === 0
  );
}

/**
 * n_chunks = max(1, ceil(plain_size / chunk_size)).
 * @param {number} size
 * @param {number} chunkSize
 * @returns {number}
 */
export function chunkCount(size, chunkSize) {
  return Math.max(1, Math.ceil(size / chunkSize));
}

/**
 * len(P_i): chunk_size except for the last chunk, which holds the rest.
 * @param {number} index
 * @param {number} size
 * @param {number} chunkSize
 * @returns {number}
 */
export function chunkLength(index, size, chunkSize) {
  const n = chunkCount(size, chunkSize);
  return index < n - 1 ? chunkSize : size - chunkSize * (n - 1);
}

/**
 * ad_i of §8.1.
 * @param {Uint8Array} fileId
 * @param {number} index
 * @param {number} nChunks
 * @param {number} size
 * @param {number} chunkSize
 * @returns {Uint8Array}
 */
export function chunkAd(fileId, index, nChunks, size, chunkSize) {
  const last = index === nChunks - 1 ? 0x01 : 0x00;
  return concat(CHUNK_LABEL, fileId, be64(index), be64(nChunks), be64(size), be64(chunkSize), Uint8Array.of(last));
}

/**
 * h_i = H256(blob_i): unkeyed BLAKE2b-256 of the whole blob, nonce included (§8.1).
 * @param {Uint8Array} blob
 * @returns {Uint8Array} 32 bytes
 */
export function chunkHash(blob) {
  return H256(blob);
}

/**
 * Encrypt chunk `index` of a file: blob_i = nonce_i ‖ AEAD_enc(file_key, nonce_i, P_i, ad_i).
 * @param {object} options
 * @param {Uint8Array} options.fileKey 32 bytes
 * @param {Uint8Array} options.fileId 16 bytes
 * @param {number} options.index
 * @param {number} options.size plain_size of the whole file
 * @param {number} options.chunkSize
 * @param {Uint8Array} options.plain P_i, exactly chunkLength(index, size, chunkSize) bytes
 * @param {Uint8Array} [options.nonce] 24 bytes (default R(24))
 * @returns {{blob: Uint8Array, hash: Uint8Array}} the blob and h_i = H256(blob_i)
 */
export function encryptChunk({ fileKey, fileId, index, size, chunkSize, plain, nonce = randomBytes(AEAD_NONCE) }) {
  const nChunks = chunkCount(size, chunkSize);
  if (!isChunkSize(chunkSize) || !Number.isSafeInteger(index) || index < 0 || index >= nChunks) {
    throw new RangeError("chunk index or chunk size out of range");
  }
  if (plain.length !== chunkLength(index, size, chunkSize) || nonce.length !== AEAD_NONCE) {
    throw new RangeError("chunk plaintext or nonce has the wrong length");
  }
  const blob = concat(nonce, aeadEncrypt(fileKey, nonce, plain, chunkAd(fileId, index, nChunks, size, chunkSize)));
  return { blob, hash: chunkHash(blob) };
}

/**
 * manifest_root = H256("ISEC-manifest-v1" ‖ file_id ‖ BE64(n_chunks) ‖ h_0 ‖ … ‖ h_{n−1}).
 * @param {Uint8Array} fileId
 * @param {Uint8Array[]} hashes
 * @returns {Uint8Array}
 */
export function manifestRoot(fileId, hashes) {
  return H256(concat(MANIFEST_LABEL, fileId, be64(hashes.length), ...hashes));
}

/**
 * The manifest the server keeps beside the chunks (§8.2).
 * @param {Uint8Array} fileId
 * @param {Uint8Array[]} hashes
 * @returns {{file_id: string, n_chunks: number, chunk_hashes: string[]}}
 */
export function manifestJson(fileId, hashes) {
  return { file_id: b64encode(fileId), n_chunks: hashes.length, chunk_hashes: hashes.map(b64encode) };
}

function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Validate a §8.3 descriptor object (as parsed from JSON) and decode its bytes. Every failure
 * is reported as `check`: `format` when opening chunks, `payload` inside a message payload.
 * @param {unknown} value
 * @param {string} [check]
 * @returns {Descriptor}
 */
export function validateDescriptor(value, check = "format") {
  ensure(isPlainObject(value), check, "descriptor is not an object");
  const d = /** @type {Record<string, unknown>} */ (value);
  const names = Object.keys(d);
  ensure(
    names.length === DESCRIPTOR_MEMBERS.length && DESCRIPTOR_MEMBERS.every((name) => Object.hasOwn(d, name)),
    check,
    "descriptor members",
  );
  ensure(typeof d.name === "string" && typeof d.mime === "string", check, "descriptor name or mime");
  ensure(Number.isSafeInteger(d.size) && d.size >= 0 && d.size <= MAX_FILE_SIZE, check, "descriptor size");
  ensure(isChunkSize(d.chunk_size), check, "descriptor chunk_size");
  ensure(d.n_chunks === chunkCount(d.size, d.chunk_size), check, "descriptor n_chunks");
  const bytes = (name, length) => {
    try {
      return b64decode(d[name], length);
    } catch (error) {
      throw error instanceof CryptoError ? new CryptoError(check, `descriptor ${name}`) : error;
    }
  };
  return {
    fileId: bytes("file_id", 16),
    name: d.name,
    mime: d.mime,
    size: d.size,
    chunkSize: d.chunk_size,
    nChunks: d.n_chunks,
    fileKey: bytes("file_key", 32),
    sha256: bytes("sha256", 32),
    manifestRoot: bytes("manifest_root", 32),
  };
}

/**
 * The JSON form of a descriptor, for the message payload.
 * @param {Descriptor} d
 * @returns {object}
 */
export function descriptorJson(d) {
  return {
    file_id: b64encode(d.fileId),
    name: d.name,
    mime: d.mime,
    size: d.size,
    chunk_size: d.chunkSize,
    n_chunks: d.nChunks,
    file_key: b64encode(d.fileKey),
    sha256: b64encode(d.sha256),
    manifest_root: b64encode(d.manifestRoot),
  };
}

function asDescriptor(descriptor) {
  return descriptor && descriptor.fileId instanceof Uint8Array ? descriptor : validateDescriptor(descriptor, "format");
}

// Malformed base64 is `format`; a hash of the wrong length cannot be in the manifest (`manifest`).
function decodeHashes(chunkHashes) {
  ensure(Array.isArray(chunkHashes), "format", "chunk hash list is not a list");
  const hashes = chunkHashes.map((h) => (h instanceof Uint8Array ? h : b64decode(h)));
  ensure(hashes.every((h) => h.length === 32), "manifest", "chunk hash length");
  return hashes;
}

/**
 * A verified view of one file: the descriptor and a chunk hash list that recomputes its
 * manifest_root (checks `format`, then `manifest`).
 */
export class FileManifest {
  /**
   * @param {Descriptor|object} descriptor a validated Descriptor or its JSON object
   * @param {(string|Uint8Array)[]} chunkHashes h_0 … h_{n−1}, base64url or bytes
   */
  constructor(descriptor, chunkHashes) {
    /** @type {Descriptor} */
    this.descriptor = asDescriptor(descriptor);
    const hashes = decodeHashes(chunkHashes);
    ensure(
      hashes.length === this.descriptor.nChunks &&
        equal(manifestRoot(this.descriptor.fileId, hashes), this.descriptor.manifestRoot),
      "manifest",
      "chunk hash list does not match manifest_root",
    );
    /** @type {Uint8Array[]} */
    this.hashes = hashes;
  }

  /**
   * Open chunk `index` (§8.4 steps 1–3: `format`, `manifest`, `decrypt`).
   * @param {number} index
   * @param {Uint8Array} blob
   * @returns {Uint8Array} P_i
   */
  openChunk(index, blob) {
    const { fileId, fileKey, size, chunkSize, nChunks } = this.descriptor;
    ensure(Number.isSafeInteger(index) && index >= 0 && index < nChunks, "format", "chunk index out of range");
    ensure(blob.length === CHUNK_OVERHEAD + chunkLength(index, size, chunkSize), "format", "chunk blob length");
    ensure(equal(chunkHash(blob), this.hashes[index]), "manifest", "chunk hash does not match the manifest");
    return aeadDecrypt(fileKey, blob.subarray(0, AEAD_NONCE), blob.subarray(AEAD_NONCE), chunkAd(fileId, index, nChunks, size, chunkSize));
  }
}

/**
 * Open one chunk on its own (random access), §8.4 steps 1–3.
 * @param {Descriptor|object} descriptor
 * @param {(string|Uint8Array)[]} chunkHashes
 * @param {number} index
 * @param {Uint8Array} blob
 * @returns {Uint8Array}
 */
export function openChunk(descriptor, chunkHashes, index, blob) {
  const d = asDescriptor(descriptor);
  ensure(Number.isSafeInteger(index) && index >= 0 && index < d.nChunks, "format", "chunk index out of range");
  ensure(blob.length === CHUNK_OVERHEAD + chunkLength(index, d.size, d.chunkSize), "format", "chunk blob length");
  return new FileManifest(d, chunkHashes).openChunk(index, blob);
}

/**
 * Streaming whole-file reader (§8.4 steps 1–5). Feed the blobs in the order received for
 * indices 0, 1, 2, …; each push returns that chunk's plaintext, which the caller may write
 * out at once but must discard unless finish() returns.
 */
export class FileOpener {
  /**
   * @param {Descriptor|object} descriptor
   * @param {(string|Uint8Array)[]} chunkHashes
   */
  constructor(descriptor, chunkHashes) {
    this.manifest = new FileManifest(descriptor, chunkHashes);
    this.next = 0;
    this.state = lib().crypto_hash_sha256_init();
    this.done = false;
  }

  /**
   * The next chunk (index = number of chunks pushed so far). A chunk after the final one is
   * `truncated`; any failure ends the reader.
   * @param {Uint8Array} blob
   * @returns {Uint8Array}
   */
  push(blob) {
    ensure(!this.done, "truncated", "reader already finished or failed");
    try {
      ensure(this.next < this.manifest.descriptor.nChunks, "truncated", "a chunk after the final one");
      const plain = this.manifest.openChunk(this.next, blob);
      lib().crypto_hash_sha256_update(this.state, plain);
      this.next += 1;
      return plain;
    } catch (error) {
      this.abort();
      throw error;
    }
  }

  /**
   * Checks `truncated` (every chunk read once, in order, through the final one) and `sha256`.
   * @returns {{size: number, sha256: Uint8Array}}
   */
  finish() {
    ensure(!this.done, "truncated", "reader already finished or failed");
    const complete = this.next === this.manifest.descriptor.nChunks;
    const digest = lib().crypto_hash_sha256_final(this.state);
    this.done = true;
    ensure(complete, "truncated", "the file ended before its final chunk");
    ensure(equal(digest, this.manifest.descriptor.sha256), "sha256", "SHA-256 of the file does not match");
    return { size: this.manifest.descriptor.size, sha256: digest };
  }

  /** Give up (frees the hash state); later calls fail with `truncated`. */
  abort() {
    if (!this.done) {
      this.done = true;
      lib().crypto_hash_sha256_final(this.state);
    }
  }
}

/**
 * Read a whole file from its blobs (in the order received for indices 0, 1, 2, …).
 * @param {Descriptor|object} descriptor
 * @param {(string|Uint8Array)[]} chunkHashes
 * @param {Iterable<Uint8Array>} blobs
 * @returns {Uint8Array} the plaintext, only if every check passed
 */
export function openFile(descriptor, chunkHashes, blobs) {
  const reader = new FileOpener(descriptor, chunkHashes);
  const parts = [];
  for (const blob of blobs) {
    parts.push(reader.push(blob));
  }
  reader.finish();
  return concat(...parts);
}

/**
 * Fresh per-file secrets and sizes: file_key = R(32), file_id = R(16).
 * @param {number} size
 * @param {number} [chunkSize]
 * @param {(n: number) => Uint8Array} [random]
 * @returns {{fileKey: Uint8Array, fileId: Uint8Array, size: number, chunkSize: number, nChunks: number}}
 */
export function newFile(size, chunkSize = DEFAULT_CHUNK_SIZE, random = randomBytes) {
  if (!isChunkSize(chunkSize) || !Number.isSafeInteger(size) || size < 0) {
    throw new RangeError("bad file size or chunk size");
  }
  return { fileKey: random(32), fileId: random(16), size, chunkSize, nChunks: chunkCount(size, chunkSize) };
}

/**
 * Assemble the descriptor once every chunk hash is known.
 * @param {{fileKey: Uint8Array, fileId: Uint8Array, size: number, chunkSize: number, nChunks: number}} file
 * @param {{name: string, mime: string, sha256: Uint8Array, hashes: Uint8Array[]}} rest
 * @returns {Descriptor}
 */
export function makeDescriptor(file, { name, mime, sha256, hashes }) {
  if (hashes.length !== file.nChunks) {
    throw new RangeError("one hash per chunk");
  }
  return { ...file, name, mime, sha256, manifestRoot: manifestRoot(file.fileId, hashes) };
}

/**
 * Encrypt a whole file in this thread (pool.js does it in parallel workers).
 * @param {Uint8Array} plain
 * @param {object} [options]
 * @param {string} [options.name]
 * @param {string} [options.mime]
 * @param {number} [options.chunkSize]
 * @param {(n: number) => Uint8Array} [options.random] randomness (tests only)
 * @returns {{descriptor: Descriptor, hashes: Uint8Array[], blobs: Uint8Array[]}}
 */
export function encryptFile(plain, options = {}) {
  const { name = "", mime = "application/octet-stream", chunkSize = DEFAULT_CHUNK_SIZE, random = randomBytes } = options;
  const file = newFile(plain.length, chunkSize, random);
  const blobs = [];
  const hashes = [];
  for (let i = 0; i < file.nChunks; i++) {
    const start = i * chunkSize;
    const chunk = plain.subarray(start, start + chunkLength(i, file.size, chunkSize));
    const { blob, hash } = encryptChunk({ ...file, index: i, plain: chunk, nonce: random(AEAD_NONCE) });
    blobs.push(blob);
    hashes.push(hash);
  }
  const descriptor = makeDescriptor(file, { name, mime, sha256: SHA256(plain), hashes });
  return { descriptor, hashes, blobs };
}
