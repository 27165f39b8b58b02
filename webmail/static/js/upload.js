// One evidence file going up (PROTOCOL.md §8, the /api/v1/files API), in one pass:
//   1. the file's key and id are chosen and declared (POST /api/v1/files) without chunk hashes,
//      with a resume record sealed to the member's own key (crypto/resume.js, §8.6);
//   2. encryptFileInPool reads the file in order (the whole-file SHA-256 on this thread), the
//      workers encrypt the chunks, and each blob is PUT as soon as it is ready with its hash in
//      X-Chunk-Hash — encryption and sending overlap, every chunk is encrypted once;
//   3. the commit sends the manifest_root the chunk hashes give, which the server checks against
//      the hashes it stored, then the descriptor (with the SHA-256) goes into the signed message.
// At most IN_FLIGHT chunks are between reading and the end of their PUT (memory stays a few
// chunks whatever the file size); a network failure or a 5xx is retried with the same bytes.
// After a reload or a server restart the same file picked again resumes: it is read again (for
// the SHA-256), each chunk the server already has is encrypted again with its stored nonce and
// must give the stored hash (never sent: a file that changed there is refused), and the missing
// chunks are encrypted with fresh random nonces and sent. A chunk cut off mid-PUT is therefore
// never sent again under the same nonce with other contents.
import { Cancelled, retried } from "./net.js";
import { CHUNK_OVERHEAD, descriptorJson, newFile } from "./crypto/attachments.js";
import { b64encode, equal, toHex } from "./crypto/encoding.js";
import { headHash, sealResume } from "./crypto/resume.js";
import { encryptFileInPool } from "./crypto/pool.js";

/** Chunk PUTs in flight per file, beyond the chunks the workers are encrypting. */
export const UPLOAD_LANES = 3;
/** Changed-file refusal: a resumed chunk encrypted again did not give the stored bytes. */
export class FileChanged extends Error {}

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
   *   sealTo?: Uint8Array, resume?: {record: import("./crypto/resume.js").ResumeRecord, fileId: string,
   *   stored: Map<number, {hash: Uint8Array, nonce: Uint8Array}>, missing: number[]}}} options
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
    const source = this.file;
    const mime = source.type || "application/octet-stream";
    let file;
    let stored = new Map();
    if (this.resume !== null) {
      file = this.resume.record.file;
      stored = this.resume.stored;
      this.fileId = this.resume.fileId;
    } else {
      file = newFile(source.size);
      this.fileId = toHex(file.fileId);
      const declaration = { file_id: this.fileId, n_chunks: file.nChunks, chunk_size: file.chunkSize, plain_size: file.size };
      if (this.sealTo !== null) {
        const head = await headHash(source, file.chunkSize);
        declaration.resume = b64encode(sealResume(this.sealTo, { file, name: source.name, mime, head }));
      }
      await this.#json("POST", "/api/v1/files", declaration);
    }
    this.#check();
    this.meter = new Meter(source.size);
    this.#step("uploading");
    const done = await encryptFileInPool(this.pool, source, {
      name: source.name,
      mime,
      file,
      nonce: (index) => stored.get(index)?.nonce,
      inFlight: 2 * this.pool.size + UPLOAD_LANES,
      onBlob: async (index, blob, hash) => {
        this.#check();
        const have = stored.get(index);
        if (have === undefined) {
          await this.#put(index, blob, hash);
        } else if (!equal(hash, have.hash)) {
          throw new FileChanged(`chunk ${index}`);
        }
        this.meter.add(blob.length - CHUNK_OVERHEAD);
        this.changed(this);
      },
    });
    this.#check();
    this.descriptor = done.descriptor;
    await this.#json("POST", `/api/v1/files/${this.fileId}/commit`, { manifest_root: b64encode(done.descriptor.manifestRoot) });
  }

  /** PUT one chunk blob with its hash (a Blob body goes to the network process much faster than an ArrayBuffer). */
  async #put(index, blob, hash) {
    this.#check();
    const stored = await retried(`/api/v1/files/${this.fileId}/chunks/${index}`, {
      method: "PUT",
      headers: { "Content-Type": "application/octet-stream", "X-CSRF-Token": this.csrf, "X-Chunk-Hash": b64encode(hash) },
      body: new Blob([blob]),
      signal: this.abort.signal,
    });
    await stored.arrayBuffer(); // read to the end (empty), so the request completes
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
