// One evidence file coming down (PROTOCOL.md §8.4): the chunks fetched a few at a time by workers
// (download.worker.js: each worker fetches its chunk into libsodium's heap, checks its length,
// hashes it and decrypts it there), put in order, while the whole-file SHA-256 runs in the same
// workers, chunk after chunk, its state handed from one to the next by this thread, which never
// touches the bytes; the file is complete only once the chunk hashes recompute the signed
// manifest_root and the SHA-256 matches the signed value.
//
// Where the plaintext goes, so memory stays bounded (about AHEAD chunks in the workers):
//  - a file larger than DISK_ABOVE, when the browser has the File System Access API
//    (showSaveFilePicker): straight to the file the member picked, through a writable stream
//    that the browser keeps in a temporary file and puts in place only on close(); on any
//    failure it is aborted, so nothing unverified is left behind;
//    The chunks come from the workers as bytes (moved, not copied) for the target to write;
//  - otherwise: one Blob per chunk (made in the worker), joined into one Blob at the end
//    (Chromium keeps large blobs out of the page's heap, on disk if needed); the object URL is
//    offered only after every check passed, and revoked soon after.
import { ApiError } from "./api.js";
import { validateDescriptor, manifestRoot } from "./crypto/attachments.js";
import { CryptoError, ensure } from "./crypto/errors.js";
import { equal, toHex } from "./crypto/encoding.js";
import { defaultPoolSize } from "./crypto/pool.js";
import { ready } from "./crypto/sodium.js";
import { Cancelled } from "./net.js";
import { Meter } from "./upload.js";

export const DOWNLOAD_WORKER_URL = new URL("./crypto/download.worker.js", import.meta.url);
/** Chunks fetched ahead of the one being written. */
export const AHEAD = 4;
/** Progress is reported at most this often (ms), and for the last chunk: each report repaints. */
const PROGRESS_EVERY = 200;
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
  await ready();
  const d = validateDescriptor(json, "format");
  const fileId = toHex(d.fileId);
  const lanes = new Lanes(DOWNLOAD_WORKER_URL, Math.min(AHEAD, defaultPoolSize()));
  const lane = (index) => index % lanes.size;
  const meter = new Meter(d.size);
  const hashes = [];
  const parts = [];
  const stop = () => lanes.close(new Cancelled());
  signal?.addEventListener("abort", stop, { once: true });
  try {
    if (signal?.aborted) {
      throw new Cancelled();
    }
    const pending = new Map();
    let next = 0;
    const fill = () => {
      while (next < d.nChunks && pending.size < AHEAD) {
        const url = `/api/v1/files/${fileId}/chunks/${next}`;
        const task = lanes.run(lane(next), "open", { descriptor: d, index: next, url, bytes: target !== null });
        task.catch(() => {}); // reported in order below
        pending.set(next, task);
        next += 1;
      }
    };
    fill();
    let state = null;
    let digest = null;
    let reported = -Infinity;
    for (let index = 0; index < d.nChunks; index++) {
      const { hash, plain } = await pending.get(index);
      pending.delete(index);
      fill();
      hashes.push(hash);
      const last = index === d.nChunks - 1;
      const turn = lanes.run(lane(index), "sha", { index, state, last });
      turn.catch(() => {}); // awaited below, unless the write fails first
      if (target) {
        await target.write(plain);
      } else {
        parts.push(plain);
      }
      ({ state = null, digest = null } = await turn);
      meter.add(target ? plain.length : plain.size);
      const now = performance.now();
      if (last || now - reported >= PROGRESS_EVERY) {
        reported = now;
        progress(meter);
      }
    }
    ensure(equal(manifestRoot(d.fileId, hashes), d.manifestRoot), "manifest", "chunk hashes do not match manifest_root");
    ensure(digest !== null && equal(digest, d.sha256), "sha256", "SHA-256 of the file does not match");
    if (target) {
      await target.close();
      return { blob: null, sha256: toHex(digest) };
    }
    return { blob: new Blob(parts, { type: safeType(d.mime) }), sha256: toHex(digest) };
  } catch (error) {
    parts.length = 0;
    lanes.close();
    await target?.abort().catch(() => null);
    throw signal?.aborted ? new Cancelled() : error;
  } finally {
    signal?.removeEventListener("abort", stop);
    lanes.close();
  }
}

/**
 * Download workers, each with its own requests: chunk i goes to worker i % size, and its "sha"
 * to the same worker, which keeps the chunk's plaintext until then.
 */
class Lanes {
  constructor(url, size) {
    this.size = size;
    this.nextId = 1;
    /** @type {{worker: Worker, jobs: Map<number, {resolve: Function, reject: Function}>}[]} */
    this.slots = Array.from({ length: size }, () => this.#spawn(url));
    this.closed = null;
  }

  run(lane, op, args) {
    const slot = this.slots[lane];
    if (this.closed || slot.broken) {
      return Promise.reject(this.closed ?? slot.broken);
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject });
      slot.worker.postMessage({ id, op, args });
    });
  }

  /** Stop every worker (their heaps go with them); what is pending fails with `reason`. */
  close(reason = new Error("the download workers are closed")) {
    if (this.closed) {
      return;
    }
    this.closed = reason;
    for (const slot of this.slots) {
      slot.worker.terminate();
      this.#fail(slot, reason);
    }
  }

  #fail(slot, reason) {
    for (const job of slot.jobs.values()) {
      job.reject(reason);
    }
    slot.jobs.clear();
  }

  #spawn(url) {
    const slot = { worker: new Worker(url, { type: "module" }), jobs: new Map(), broken: null };
    slot.worker.addEventListener("message", (event) => {
      const { id, ok, result, error } = event.data;
      const job = slot.jobs.get(id);
      if (job !== undefined) {
        slot.jobs.delete(id);
        ok ? job.resolve(result) : job.reject(revive(error));
      }
    });
    const fail = (event) => {
      // The worker itself broke (failed to load, out of memory): what it held is lost.
      event.preventDefault?.();
      slot.broken = new Error(`download worker failed: ${event.message ?? "messageerror"}`);
      this.#fail(slot, slot.broken);
    };
    slot.worker.addEventListener("error", fail);
    slot.worker.addEventListener("messageerror", fail);
    return slot;
  }
}

/** A worker's error answer as an exception: a failed check, a refused request, or an Error. */
function revive({ check, api, message }) {
  if (check) {
    const error = new CryptoError(check);
    error.message = message;
    return error;
  }
  if (api) {
    return new ApiError(api.status, api.code, api.message, api.field);
  }
  return new Error(message);
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
