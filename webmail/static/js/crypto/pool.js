// A small pool of module workers with a promise API, and the parallel operations built on it:
// password hashing off the main thread, attachment chunks encrypted and opened in parallel.
import { DEFAULT_CHUNK_SIZE, FileManifest, chunkLength, makeDescriptor, newFile } from "./attachments.js";
import { ensure } from "./errors.js";
import { equal } from "./encoding.js";
import { revive, transferable } from "./rpc.js";
import { ready } from "./sodium.js";

/** URL of the chunk worker (served beside this module). */
export const CHUNK_WORKER_URL = new URL("./chunk.worker.js", import.meta.url);
/** URL of the password-hashing worker. */
export const ARGON2_WORKER_URL = new URL("./argon2.worker.js", import.meta.url);

/**
 * navigator.hardwareConcurrency, at least 2.
 * @returns {number}
 */
export function defaultPoolSize() {
  const cores = globalThis.navigator?.hardwareConcurrency;
  return Math.max(2, Number.isInteger(cores) ? cores : 2);
}

/**
 * How many requests a chunk worker is sent at once. With 2, a worker that finishes a chunk
 * starts the next one from its own message queue at once, instead of idling until this thread
 * (busy with the whole-file SHA-256 of the next chunk) has received its answer and dispatched.
 */
export const CHUNK_DEPTH = 2;

/**
 * Module workers with a promise API. Each worker is sent at most `depth` requests at a time
 * (it answers them one after the other, in order: rpc.js serve()); the rest wait in a queue
 * here. A new request goes to an idle worker first, then to a new worker while fewer than
 * `size` run, then to the least busy worker below `depth`.
 */
export class WorkerPool {
  /**
   * @param {URL|string} url a module worker built on rpc.js serve()
   * @param {{size?: number, depth?: number}} [options] number of workers (default
   *   defaultPoolSize()) and requests sent to one worker at once (default 1)
   */
  constructor(url, { size = defaultPoolSize(), depth = 1 } = {}) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError("pool size");
    }
    if (!Number.isInteger(depth) || depth < 1) {
      throw new RangeError("pool depth");
    }
    this.url = url;
    this.size = size;
    this.depth = depth;
    this.nextId = 1;
    /** @type {{message: object, transfer: ArrayBuffer[], resolve: Function, reject: Function}[]} */
    this.queue = [];
    /** @type {{worker: Worker, jobs: Map<number, object>}[]} */
    this.slots = [];
    this.closed = false;
  }

  /**
   * Run `op` with `args` on the next free worker.
   * @param {string} op
   * @param {object} args
   * @param {ArrayBuffer[]} [transfer] buffers to move to the worker (detached here)
   * @returns {Promise<any>} the result, or a rejection (a CryptoError when a check failed)
   */
  run(op, args, transfer = []) {
    if (this.closed) {
      return Promise.reject(new Error("the worker pool is closed"));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ message: { id: this.nextId++, op, args }, transfer, resolve, reject });
      this.#dispatch();
    });
  }

  /** Stop every worker; pending and queued requests are rejected. */
  close() {
    this.closed = true;
    const error = new Error("the worker pool is closed");
    for (const slot of this.slots) {
      slot.worker.terminate();
      for (const job of slot.jobs.values()) {
        job.reject(error);
      }
      slot.jobs.clear();
    }
    for (const job of this.queue) {
      job.reject(error);
    }
    this.slots = [];
    this.queue = [];
  }

  #dispatch() {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.jobs.size === 0);
      if (slot === undefined && this.slots.length < this.size) {
        slot = this.#spawn();
      }
      if (slot === undefined) {
        // Every worker runs (size of them, so at least one): the least busy, if below depth.
        slot = this.slots.reduce((best, s) => (s.jobs.size < best.jobs.size ? s : best));
        if (slot.jobs.size >= this.depth) {
          return;
        }
      }
      const job = this.queue.shift();
      slot.jobs.set(job.message.id, job);
      slot.worker.postMessage(job.message, job.transfer);
    }
  }

  #spawn() {
    const slot = { worker: new Worker(this.url, { type: "module" }), jobs: new Map() };
    slot.worker.addEventListener("message", (event) => {
      const { id, ok, result, error } = event.data;
      const job = slot.jobs.get(id);
      if (job === undefined) {
        return;
      }
      slot.jobs.delete(id);
      if (ok) {
        job.resolve(result);
      } else {
        job.reject(revive(error));
      }
      this.#dispatch();
    });
    const fail = (event) => {
      // The worker itself broke (failed to load, out of memory): drop it, fail its requests.
      event.preventDefault?.();
      this.slots = this.slots.filter((s) => s !== slot);
      slot.worker.terminate();
      const error = new Error(`worker failed: ${event.message ?? "messageerror"}`);
      for (const job of slot.jobs.values()) {
        job.reject(error);
      }
      slot.jobs.clear();
      this.#dispatch();
    };
    slot.worker.addEventListener("error", fail);
    slot.worker.addEventListener("messageerror", fail);
    this.slots.push(slot);
    return slot;
  }
}

/**
 * derivePasswordKeys (keys.js) in a dedicated worker, so the page stays responsive.
 * @param {string} password
 * @param {Uint8Array} salt
 * @param {{alg: string, ops: number, mem: number}} params
 * @returns {Promise<import("./keys.js").PasswordKeys>}
 */
export async function derivePasswordKeysInWorker(password, salt, params) {
  const pool = new WorkerPool(ARGON2_WORKER_URL, { size: 1 });
  try {
    return await pool.run("derive", { password, salt, params });
  } finally {
    pool.close();
  }
}

/**
 * A pool of chunk workers, each sent CHUNK_DEPTH requests at once unless `depth` says otherwise.
 * @param {{size?: number, depth?: number}} [options]
 * @returns {WorkerPool}
 */
export function chunkPool(options = {}) {
  return new WorkerPool(CHUNK_WORKER_URL, { depth: CHUNK_DEPTH, ...options });
}

async function readRange(source, start, end) {
  if (source instanceof Uint8Array) {
    return source.slice(start, end);
  }
  return new Uint8Array(await source.slice(start, end).arrayBuffer());
}

/**
 * Encrypt a file in parallel chunks (§8.1). Chunks are read in order (for the streaming
 * SHA-256), at most `inFlight` (default two per worker) between reading and the end of their
 * `onBlob`. With `onBlob`, each blob is handed over as soon as it is ready (for upload) and not
 * kept; a rejection of `onBlob` fails the whole operation.
 * @param {WorkerPool} pool a chunkPool()
 * @param {Uint8Array|Blob} source the plaintext
 * @param {object} [options]
 * @param {string} [options.name]
 * @param {string} [options.mime]
 * @param {number} [options.chunkSize] default 4 MiB
 * @param {(index: number) => Uint8Array|undefined} [options.nonce] chunk i's nonce (default R(24);
 *   a resumed upload gives the stored chunks' nonces, §8.6)
 * @param {{fileKey: Uint8Array, fileId: Uint8Array, size: number, chunkSize: number, nChunks: number}} [options.file]
 *   the file's key, id and sizes when already chosen (a one-pass upload declares them first)
 * @param {number} [options.inFlight] chunks read and not yet through onBlob (default 2 per worker)
 * @param {(index: number, blob: Uint8Array, hash: Uint8Array) => void|Promise<void>} [options.onBlob]
 * @returns {Promise<{descriptor: import("./attachments.js").Descriptor, hashes: Uint8Array[], blobs: (Uint8Array|null)[]}>}
 */
export async function encryptFileInPool(pool, source, options = {}) {
  const { name = "", mime = "application/octet-stream", chunkSize = DEFAULT_CHUNK_SIZE, onBlob, nonce } = options;
  const sodium = await ready();
  const size = source instanceof Uint8Array ? source.length : source.size;
  const file = options.file ?? newFile(size, chunkSize);
  if (file.size !== size) {
    throw new RangeError("the file's declared size is not the source's");
  }
  const limit = options.inFlight ?? 2 * pool.size;
  const hashes = new Array(file.nChunks);
  const blobs = new Array(file.nChunks).fill(null);
  const state = sodium.crypto_hash_sha256_init();
  const inFlight = new Set();
  try {
    for (let index = 0; index < file.nChunks; index++) {
      while (inFlight.size >= limit) {
        await Promise.race(inFlight);
      }
      const start = index * file.chunkSize;
      const plain = await readRange(source, start, start + chunkLength(index, size, file.chunkSize));
      sodium.crypto_hash_sha256_update(state, plain);
      const task = pool
        .run("encrypt", { ...file, index, plain, nonce: nonce?.(index) }, transferable(plain))
        .then(async ({ blob, hash }) => {
          hashes[index] = hash;
          if (onBlob) {
            await onBlob(index, blob, hash);
          } else {
            blobs[index] = blob;
          }
        })
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
      // No unhandled-rejection report: a failure surfaces through Promise.race/all here.
      task.catch(() => {});
    }
    await Promise.all(inFlight);
  } catch (error) {
    sodium.crypto_hash_sha256_final(state);
    // No chunk is still being handed over when this rejects (an upload lists what the server
    // holds right after a failure, to resume from there).
    await Promise.allSettled(inFlight);
    throw error;
  }
  const sha256 = sodium.crypto_hash_sha256_final(state);
  return { descriptor: makeDescriptor(file, { name, mime, sha256, hashes }), hashes, blobs };
}

/**
 * Open a whole file with the chunks decrypted in parallel. Failures are reported as a
 * streaming reader would: the first failing chunk in index order, then `truncated` if the
 * blobs are not exactly chunks 0 … n−1, then `sha256`.
 * @param {WorkerPool} pool
 * @param {import("./attachments.js").Descriptor|object} descriptor
 * @param {(string|Uint8Array)[]} chunkHashes
 * @param {Uint8Array[]} blobs in the order received for indices 0, 1, 2, …
 * @returns {Promise<Uint8Array>}
 */
export async function openFileInPool(pool, descriptor, chunkHashes, blobs) {
  const sodium = await ready();
  const manifest = new FileManifest(descriptor, chunkHashes);
  const d = manifest.descriptor;
  const count = Math.min(blobs.length, d.nChunks);
  const results = await Promise.allSettled(
    blobs.slice(0, count).map((blob, index) =>
      pool.run("open", { descriptor: d, chunkHashes: manifest.hashes, index, blob }),
    ),
  );
  for (const result of results) {
    if (result.status === "rejected") {
      throw result.reason;
    }
  }
  ensure(blobs.length === d.nChunks, "truncated", "chunks missing or after the final one");
  const plain = new Uint8Array(d.size);
  const state = sodium.crypto_hash_sha256_init();
  results.forEach((result, index) => {
    ensure(result.value.length === chunkLength(index, d.size, d.chunkSize), "format", "chunk length");
    plain.set(result.value, index * d.chunkSize);
    sodium.crypto_hash_sha256_update(state, result.value);
  });
  ensure(equal(sodium.crypto_hash_sha256_final(state), d.sha256), "sha256", "SHA-256 of the file does not match");
  return plain;
}

