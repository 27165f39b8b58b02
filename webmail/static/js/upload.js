// One evidence file going up (PROTOCOL.md §8, the /api/v1/files API). The server must know every
// chunk hash before the first chunk (POST /api/v1/files declares them), so there are two passes:
//   1. encryptFileInPool (workers) gives the descriptor, the chunk hashes and the whole-file
//      SHA-256; each blob's nonce (its first 24 bytes) is kept, and the blob itself for the
//      chunks of the first KEEP_BYTES of the file (before: all of a file up to 64 MiB, none of a
//      larger one — a 1 GiB file was encrypted twice over);
//   2. after the declaration, the chunks the server lists as `missing` are PUT by UPLOAD_LANES
//      lanes at once, a network failure retried a few times: a kept blob as it is; any other
//      chunk encrypted again with the same key and nonce — the same bytes, checked against the
//      declared hash before they leave, so a file that changed in between is refused here,
//      never sent under a reused nonce.
// Kept blobs live in the page's heap (at most KEEP_BYTES), not in the browser's blob storage: that
// storage is bounded (≈ 500 MB in memory in a private window) and a PUT of a Blob it no longer
// holds was seen to hang. Beyond that, memory stays about UPLOAD_LANES chunks plus the pool's,
// whatever the file size. Then commit.
// Chunk nonces derive from a per-file seed and the declaration carries a resume record sealed to
// the member's own key (crypto/resume.js, §8.6): after a reload or a server restart the same file
// picked again resumes — only the chunks the server lists as missing are encrypted and sent.
import { ApiError } from "./api.js";
import { CHUNK_OVERHEAD, DEFAULT_CHUNK_SIZE, chunkLength, descriptorJson } from "./crypto/attachments.js";
import { b64decode, b64encode, equal, toHex } from "./crypto/encoding.js";
import { AEAD_NONCE, randomBytes } from "./crypto/primitives.js";
import { NONCE_SEED, chunkNonce, headHash, sealResume } from "./crypto/resume.js";
import { encryptFileInPool } from "./crypto/pool.js";
import { transferable } from "./crypto/rpc.js";

/** Chunk PUTs in flight per file. */
export const UPLOAD_LANES = 3;
/** Attempts per chunk request when the network (or a 5xx) fails it. */
export const ATTEMPTS = 4;
/** The blobs of the chunks in the first KEEP_BYTES of a file are kept from the first pass and sent
 * as they are; later chunks are encrypted again when sent. */
export const KEEP_BYTES = 256 * 1024 * 1024;

export class Cancelled extends Error {}

/** Changed-file refusal: a chunk's second encryption did not give the declared bytes. */
export class FileChanged extends Error {}

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new Cancelled());
    });
  });

/**
 * A fetch retried on network failure, 429 and 5xx (ATTEMPTS times, backing off); any other
 * refusal is an ApiError at once.
 * @param {string} path
 * @param {RequestInit} init
 * @returns {Promise<Response>}
 */
export async function retried(path, init) {
  for (let attempt = 1; ; attempt++) {
    let response = null;
    try {
      response = await fetch(path, { credentials: "same-origin", cache: "no-store", ...init });
    } catch (error) {
      if (init.signal?.aborted) {
        throw new Cancelled();
      }
      if (attempt >= ATTEMPTS) {
        throw new ApiError(0, "network", String(error?.message ?? ""), null);
      }
    }
    if (response !== null) {
      if (response.ok) {
        return response;
      }
      const retry = response.status === 429 || response.status >= 500;
      if (!retry || attempt >= ATTEMPTS) {
        const error = (await response.json().catch(() => null))?.error ?? {};
        throw new ApiError(response.status, error.code ?? "unknown", error.message ?? "", error.field ?? null);
      }
    }
    await sleep(400 * 2 ** (attempt - 1), init.signal);
  }
}

/** Speed and time left of a running transfer. */
export class Meter {
  constructor(total) {
    this.total = total;
    this.done = 0;
    this.started = performance.now();
  }

  add(bytes) {
    this.done += bytes;
  }

  get fraction() {
    return this.total === 0 ? 1 : Math.min(1, this.done / this.total);
  }

  /** Bytes per second so far (0 in the first instants). */
  get rate() {
    const seconds = (performance.now() - this.started) / 1000;
    return seconds > 0.05 ? this.done / seconds : 0;
  }

  /** Seconds left at the current rate, or null when unknown. */
  get left() {
    const rate = this.rate;
    return rate > 0 ? (this.total - this.done) / rate : null;
  }
}

export class Upload {
  /**
   * @param {File} file
   * @param {{csrf: string, pool: import("./crypto/pool.js").WorkerPool, changed: (u: Upload) => void,
   *   sealTo?: Uint8Array, resume?: {record: object, fileId: string, hashes: string[], missing: number[]}}} options
   *   sealTo: the member's own X25519 key for the resume record; resume: an unfinished upload of
   *   this file (GET /api/v1/files, its record opened and checked against the file)
   */
  constructor(file, { csrf, pool, changed, sealTo = null, resume = null }) {
    this.file = file;
    this.csrf = csrf;
    this.pool = pool;
    this.changed = changed;
    this.sealTo = sealTo;
    this.resume = resume;
    this.state = "encrypting"; // → uploading → committed | failed | cancelled
    this.meter = new Meter(file.size);
    this.descriptor = null;
    this.error = null;
    this.fileId = null; // hex, once declared
    this.abort = new AbortController();
  }

  /** The §8.3 descriptor for the payload (once committed). */
  get json() {
    return descriptorJson(this.descriptor);
  }

  #step(state) {
    this.state = state;
    this.changed(this);
  }

  #check() {
    if (this.abort.signal.aborted) {
      throw new Cancelled();
    }
  }

  async run() {
    try {
      await this.#upload();
      this.#step("committed");
    } catch (error) {
      if (error instanceof Cancelled || this.abort.signal.aborted) {
        return;
      }
      this.error = error;
      this.#step("failed");
    }
  }

  async #upload() {
    if (this.resume !== null) {
      const { record, fileId, hashes, missing } = this.resume;
      this.descriptor = record.descriptor;
      this.fileId = fileId;
      const nonces = [];
      for (const index of missing) {
        nonces[index] = chunkNonce(record.nonceSeed, index);
      }
      await this.#send([...missing], nonces, [], hashes.map((h) => b64decode(h, 32)));
      return;
    }
    const file = this.file;
    const nonces = [];
    const kept = [];
    const seed = randomBytes(NONCE_SEED);
    const first = await encryptFileInPool(this.pool, file, {
      name: file.name,
      mime: file.type || "application/octet-stream",
      nonce: (index) => chunkNonce(seed, index),
      onBlob: (index, blob) => {
        this.#check();
        nonces[index] = blob.slice(0, AEAD_NONCE);
        if (index * DEFAULT_CHUNK_SIZE < KEEP_BYTES) {
          kept[index] = blob;
        }
        this.meter.add(blob.length - CHUNK_OVERHEAD);
        this.changed(this);
      },
    });
    this.#check();
    this.descriptor = first.descriptor;
    const d = first.descriptor;
    this.fileId = toHex(d.fileId);
    const declaration = {
      file_id: this.fileId,
      n_chunks: d.nChunks,
      chunk_size: d.chunkSize,
      plain_size: d.size,
      chunk_hashes: first.hashes.map(b64encode),
    };
    if (this.sealTo !== null) {
      const head = await headHash(file, d.chunkSize);
      declaration.resume = b64encode(sealResume(this.sealTo, { descriptor: d, nonceSeed: seed, head }));
    }
    const declared = await this.#json("POST", "/api/v1/files", declaration);
    await this.#send([...declared.missing], nonces, kept, first.hashes);
  }

  /** PUT the `missing` chunks (kept blobs, or encrypted again with their nonce), then commit. */
  async #send(missing, nonces, kept, hashes) {
    const d = this.descriptor;
    this.meter = new Meter(missing.reduce((sum, i) => sum + chunkLength(i, d.size, d.chunkSize), 0));
    this.#step("uploading");
    const lane = async () => {
      while (missing.length > 0) {
        this.#check();
        const index = missing.shift();
        const blob = kept[index];
        kept[index] = undefined;
        await this.#put(index, blob ?? (await this.#again(index, nonces[index], hashes[index])));
        this.meter.add(chunkLength(index, d.size, d.chunkSize));
        this.changed(this);
      }
    };
    await Promise.all(Array.from({ length: UPLOAD_LANES }, lane));
    this.#check();
    await this.#json("POST", `/api/v1/files/${this.fileId}/commit`, {});
  }

  /** PUT one chunk blob (a Blob goes to the network process much faster than an ArrayBuffer body). */
  async #put(index, blob) {
    this.#check();
    const stored = await retried(`/api/v1/files/${this.fileId}/chunks/${index}`, {
      method: "PUT",
      headers: { "Content-Type": "application/octet-stream", "X-CSRF-Token": this.csrf },
      body: new Blob([blob]),
      signal: this.abort.signal,
    });
    await stored.arrayBuffer(); // read to the end (empty), so the request completes
  }

  /** Chunk `index` encrypted again with its first-pass nonce; refused unless it hashes the same. */
  async #again(index, nonce, hash) {
    const d = this.descriptor;
    const start = index * d.chunkSize;
    const plain = new Uint8Array(await this.file.slice(start, start + chunkLength(index, d.size, d.chunkSize)).arrayBuffer());
    const file = { fileKey: d.fileKey, fileId: d.fileId, size: d.size, chunkSize: d.chunkSize };
    const again = await this.pool.run("encrypt", { ...file, index, plain, nonce }, transferable(plain));
    if (!equal(again.hash, hash)) {
      throw new FileChanged(`chunk ${index}`);
    }
    return again.blob;
  }

  async #json(method, path, body) {
    const response = await retried(path, {
      method,
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": this.csrf },
      body: JSON.stringify(body),
      signal: this.abort.signal,
    });
    return response.status === 204 ? null : response.json();
  }

  /** Stop the upload; a declared, uncommitted file is deleted on the server. */
  async cancel() {
    const committed = this.state === "committed";
    this.abort.abort();
    this.state = "cancelled";
    if (this.fileId !== null && !committed) {
      await fetch(`/api/v1/files/${this.fileId}`, {
        method: "DELETE",
        headers: { "X-CSRF-Token": this.csrf },
        credentials: "same-origin",
      }).catch(() => null);
    }
  }
}
