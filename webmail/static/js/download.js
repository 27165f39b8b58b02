// One evidence file coming down (PROTOCOL.md §8.4): the chunks fetched a few at a time, each
// decrypted in a worker (download.worker.js: length, then AEAD under the key from the signed
// descriptor), written out in index order while the SHA-256 runs; the file is complete only once
// the chunk hashes recompute the signed manifest_root and the SHA-256 matches the signed value.
//
// Where the plaintext goes, so memory stays bounded:
//  - a file larger than DISK_ABOVE, when the browser has the File System Access API
//    (showSaveFilePicker): straight to the file the member picked, through a writable stream
//    that the browser keeps in a temporary file and puts in place only on close(); on any
//    failure it is aborted, so nothing unverified is left behind;
//  - otherwise: one Blob per chunk, joined into one Blob at the end (Chromium keeps large blobs
//    out of the page's heap, on disk if needed); the object URL is offered only after every
//    check passed, and revoked soon after.
import { ApiError } from "./api.js";
import { validateDescriptor, manifestRoot } from "./crypto/attachments.js";
import { CryptoError, ensure } from "./crypto/errors.js";
import { equal, toHex } from "./crypto/encoding.js";
import { WorkerPool, defaultPoolSize } from "./crypto/pool.js";
import { ready } from "./crypto/sodium.js";
import { Cancelled, Meter, retried } from "./upload.js";

export const DOWNLOAD_WORKER_URL = new URL("./crypto/download.worker.js", import.meta.url);
/** Chunks fetched ahead of the one being written. */
export const AHEAD = 4;
/** Above this size the file goes straight to disk when the browser can. */
export const DISK_ABOVE = 256 * 1024 * 1024;

/** True when the member should be asked for a place on disk first (call it in the click handler). */
export function wantsDisk(descriptor) {
  return descriptor.size > DISK_ABOVE && typeof window.showSaveFilePicker === "function";
}

/** Ask where to save (must run inside the click, before any other await); null if refused. */
export async function pickTarget(descriptor) {
  try {
    const handle = await window.showSaveFilePicker({ suggestedName: descriptor.name });
    return await handle.createWritable();
  } catch {
    return null;
  }
}

/**
 * Fetch, decrypt and verify a whole attachment.
 * @param {object} json the §8.3 descriptor of the signed payload
 * @param {{target?: FileSystemWritableFileStream|null, progress?: (m: Meter) => void, signal?: AbortSignal}} options
 * @returns {Promise<{blob: Blob|null, sha256: string}>} blob null when written to `target`
 */
export async function download(json, { target = null, progress = () => {}, signal } = {}) {
  const sodium = await ready();
  const d = validateDescriptor(json, "format");
  const fileId = toHex(d.fileId);
  const pool = new WorkerPool(DOWNLOAD_WORKER_URL, { size: Math.min(AHEAD, defaultPoolSize()), depth: 2 });
  const meter = new Meter(d.size);
  const state = sodium.crypto_hash_sha256_init();
  const hashes = [];
  const parts = [];
  let finished = false;
  const fetchChunk = async (index) => {
    const response = await retried(`/api/v1/files/${fileId}/chunks/${index}`, { method: "GET", signal });
    const blob = new Uint8Array(await response.arrayBuffer());
    return pool.run("decrypt", { descriptor: d, index, blob }, [blob.buffer]);
  };
  try {
    const pending = new Map();
    let next = 0;
    const fill = () => {
      while (next < d.nChunks && pending.size < AHEAD) {
        const task = fetchChunk(next);
        task.catch(() => {}); // reported in order below
        pending.set(next, task);
        next += 1;
      }
    };
    fill();
    for (let index = 0; index < d.nChunks; index++) {
      const { plain, hash } = await pending.get(index);
      pending.delete(index);
      fill();
      hashes.push(hash);
      sodium.crypto_hash_sha256_update(state, plain);
      if (target) {
        await target.write(plain);
      } else {
        parts.push(new Blob([plain]));
      }
      meter.add(plain.length);
      progress(meter);
    }
    ensure(equal(manifestRoot(d.fileId, hashes), d.manifestRoot), "manifest", "chunk hashes do not match manifest_root");
    const digest = sodium.crypto_hash_sha256_final(state);
    finished = true;
    ensure(equal(digest, d.sha256), "sha256", "SHA-256 of the file does not match");
    if (target) {
      await target.close();
      return { blob: null, sha256: toHex(digest) };
    }
    return { blob: new Blob(parts, { type: safeType(d.mime) }), sha256: toHex(digest) };
  } catch (error) {
    if (!finished) {
      sodium.crypto_hash_sha256_final(state);
    }
    parts.length = 0;
    await target?.abort().catch(() => null);
    throw error;
  } finally {
    pool.close();
  }
}

/** The blob's type: never one a browser would render as active content. */
function safeType(mime) {
  return /^(image\/(png|jpeg|gif|webp)|application\/pdf|text\/plain)$/.test(mime) ? mime : "application/octet-stream";
}

/** The name of a failure, as a key of the page's messages (data-msg-…). */
export function failureKey(error) {
  if (error instanceof CryptoError) {
    return { format: "msgCheckFormat", manifest: "msgCheckManifest", decrypt: "msgCheckDecrypt", sha256: "msgCheckSha256" }[error.check] ?? "msgCheckFormat";
  }
  if (error instanceof ApiError) {
    return error.status === 404 ? "msgCheckMissing" : error.status === 0 ? "msgNetwork" : null;
  }
  if (error instanceof Cancelled) {
    return "msgDownloadCancelled";
  }
  return null;
}
