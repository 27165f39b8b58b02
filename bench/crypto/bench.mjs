// Browser side of bench/crypto/run.py. Served into the sign-in page by Playwright's request
// interception (same origin, so the page's CSP `script-src 'self'` admits it); not a product file.
//
// Every export takes one options object and returns plain JSON-able numbers. Sizes are in MiB
// (2^20 bytes) and throughputs in MiB/s. Every loop has a fixed number of steps and a time cap:
// when a cap is reached the phase stops and says so (`capped: true`) instead of running on.

const MiB = 1 << 20;
const RANDOM_MAX = 65536; // crypto.getRandomValues fills at most 64 KiB per call

/** The product modules, loaded by setup(). */
let m = null;
/** The file encrypted by encryptPipeline({keep}) for the decryption phase. */
let lastFile = null;

const now = () => performance.now();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

function randomFill(bytes) {
  for (let i = 0; i < bytes.length; i += RANDOM_MAX) {
    crypto.getRandomValues(bytes.subarray(i, Math.min(i + RANDOM_MAX, bytes.length)));
  }
  return bytes;
}

function sameBytes(a, b) {
  if (a.length !== b.length) {
    return false;
  }
  const n4 = a.length >> 2;
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const x = new Uint32Array(a.buffer, a.byteOffset, n4);
    const y = new Uint32Array(b.buffer, b.byteOffset, n4);
    for (let i = 0; i < n4; i++) {
      if (x[i] !== y[i]) {
        return false;
      }
    }
  }
  for (let i = n4 * 4; i < a.length; i++) {
    if (a[i] !== b[i]) {
      return false;
    }
  }
  return true;
}

/**
 * A synthetic plaintext of `size` bytes that never exists as a whole. It looks like a Blob to
 * encryptFileInPool (`size` and `slice(start, end).arrayBuffer()`), so the product's own code
 * reads it. Each piece is a fresh buffer: a copy of a small random base buffer of which one
 * 64 KiB window is first re-randomised with crypto.getRandomValues (a different window each
 * call), with the piece's offset stamped in its first 8 bytes, so no two pieces are equal.
 */
class SyntheticFile {
  constructor(size, pieceSize, { keep = 0 } = {}) {
    this.size = size;
    this.base = randomFill(new Uint8Array(pieceSize));
    this.calls = 0;
    this.ms = 0; // time spent generating, on the thread that asked
    this.deadline = Infinity;
    this.keep = keep; // keep a copy of the pieces that start below keep * pieceSize
    this.kept = new Map();
  }

  piece(start, end) {
    const t = now();
    if (t > this.deadline) {
      throw new Error("time cap reached");
    }
    const n = end - start;
    if (n < 0 || n > this.base.length) {
      throw new RangeError("piece larger than the base buffer");
    }
    const w = (this.calls * RANDOM_MAX) % this.base.length;
    crypto.getRandomValues(this.base.subarray(w, Math.min(w + RANDOM_MAX, this.base.length)));
    const out = new Uint8Array(n);
    out.set(this.base.subarray(0, n));
    if (n >= 8) {
      new DataView(out.buffer).setFloat64(0, start);
    }
    if (start < this.keep * this.base.length) {
      this.kept.set(start, out.slice());
    }
    this.calls += 1;
    this.ms += now() - t;
    return out;
  }

  slice(start, end) {
    return { arrayBuffer: async () => this.piece(start, end).buffer };
  }

  /** A web ReadableStream of the whole file in pieces of the base buffer's size. */
  stream() {
    let offset = 0;
    return new ReadableStream(
      {
        pull: (controller) => {
          if (offset >= this.size) {
            controller.close();
            return;
          }
          const end = Math.min(offset + this.base.length, this.size);
          controller.enqueue(this.piece(offset, end));
          offset = end;
        },
      },
      { highWaterMark: 1 },
    );
  }
}

/** Time `fn` with libsodium's crypto_hash_sha256_update (the one pool.js uses) instrumented. */
async function withHashMeter(fn) {
  const sodium = m.sodium;
  const original = sodium.crypto_hash_sha256_update;
  const meter = { ms: 0, bytes: 0, calls: 0 };
  sodium.crypto_hash_sha256_update = (state, data) => {
    const t = now();
    try {
      return original(state, data);
    } finally {
      meter.ms += now() - t;
      meter.bytes += data.length;
      meter.calls += 1;
    }
  };
  try {
    return { value: await fn(), meter };
  } finally {
    sodium.crypto_hash_sha256_update = original;
  }
}

function makePool(kind) {
  const sha256Hi = new URL("/bench/sha256-chunk.worker.mjs", location.origin);
  sha256Hi.searchParams.set("base", m.base);
  switch (kind) {
    case "product":
      return m.pool.chunkPool();
    case "sha256-hi":
      // The product's pool and dispatch; only the worker's h_i differs.
      return new m.pool.WorkerPool(sha256Hi, { depth: m.pool.CHUNK_DEPTH });
    case "depth1":
      // One request per worker at a time: how pool.js dispatched before CHUNK_DEPTH.
      return m.pool.chunkPool({ depth: 1 });
    default:
      throw new Error(`unknown pool ${kind}`);
  }
}

/** Start every worker of `pool` (libsodium loaded) before anything is timed. */
async function warm(pool) {
  const file = m.attachments.newFile(64 * 1024 * pool.size, 64 * 1024);
  const jobs = [];
  for (let index = 0; index < file.nChunks; index++) {
    const plain = randomFill(new Uint8Array(64 * 1024));
    jobs.push(pool.run("encrypt", { ...file, index, plain }, [plain.buffer]));
  }
  await Promise.all(jobs);
}

/** Load the product modules from `base` (".../static/<build>/js/crypto/"). */
export async function setup({ base }) {
  const load = (name) => import(base + name);
  const [pool, attachments, keys, sodiumModule] = await Promise.all(
    ["pool.js", "attachments.js", "keys.js", "sodium.js"].map(load),
  );
  const sodium = await sodiumModule.ready();
  m = { base, pool, attachments, keys, sodium };
  return {
    hardwareConcurrency: navigator.hardwareConcurrency ?? null,
    poolSize: pool.defaultPoolSize(),
    userAgent: navigator.userAgent,
    sodiumVersion: sodium.sodium_version_string?.() ?? null,
  };
}

/** Single-thread speeds of the building blocks, on the page's main thread. */
export async function micro({ totalMiB, chunkMiB }) {
  const chunkSize = chunkMiB * MiB;
  const n = Math.max(1, Math.round(totalMiB / chunkMiB));
  const mib = n * chunkMiB;
  const source = new SyntheticFile(n * chunkSize, chunkSize);
  const sodium = m.sodium;
  const out = { MiB: mib };
  const time = async (name, step) => {
    const t = now();
    for (let i = 0; i < n; i++) {
      await step(i);
    }
    out[name] = mib / ((now() - t) / 1000);
  };
  await time("generate", (i) => source.piece(i * chunkSize, (i + 1) * chunkSize));
  const buf = source.piece(0, chunkSize);
  const key = randomFill(new Uint8Array(32));
  const nonce = randomFill(new Uint8Array(24));
  const ad = new Uint8Array(64);
  await time("copy", () => buf.slice());
  await time("xchacha20poly1305", () => sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(buf, ad, null, nonce, key));
  const state = sodium.crypto_hash_sha256_init();
  await time("sha256Libsodium", () => sodium.crypto_hash_sha256_update(state, buf));
  sodium.crypto_hash_sha256_final(state);
  await time("blake2b", () => sodium.crypto_generichash(32, buf, null));
  const file = m.attachments.newFile(n * chunkSize, chunkSize);
  await time("encryptChunk", (index) => m.attachments.encryptChunk({ ...file, index, plain: buf }));
  return out;
}

/** Argon2id at keys.DEFAULT_PARAMS through derivePasswordKeysInWorker, `runs` times. */
export async function argon2({ runs }) {
  const params = m.keys.DEFAULT_PARAMS;
  const salt = randomFill(new Uint8Array(16));
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t = now();
    const derived = await m.pool.derivePasswordKeysInWorker(`bench password ${i}`, salt, params);
    ms.push(now() - t);
    if (!(derived.kek instanceof Uint8Array) || derived.kek.length !== 32) {
      throw new Error("derivePasswordKeysInWorker returned no key");
    }
  }
  // What a fresh worker costs before any work: spawn, load the modules and libsodium's wasm.
  const cold = [];
  for (let i = 0; i < 3; i++) {
    const pool = m.pool.chunkPool({ size: 1 });
    const t = now();
    await warm(pool);
    cold.push(now() - t);
    pool.close();
  }
  return { params: { ...params }, ms, medianMs: median(ms), coldWorkerMs: median(cold) };
}

/**
 * encryptFileInPool (the product function, unchanged) over a synthetic file: chunk encryption
 * in the pool's workers and the whole-file SHA-256 on this thread. Blobs go to onBlob and are
 * dropped, except the first `keep`, which the decryption phase reuses.
 */
export async function encryptPipeline({ sizeMiB, chunkMiB, keep = 0, capSeconds, pool: kind = "product" }) {
  const chunkSize = chunkMiB * MiB;
  const source = new SyntheticFile(sizeMiB * MiB, chunkSize, { keep });
  const pool = makePool(kind);
  try {
    await warm(pool);
    const kept = [];
    let blobs = 0;
    let blobBytes = 0;
    const t0 = now();
    source.deadline = t0 + capSeconds * 1000;
    const { value: result, meter } = await withHashMeter(() =>
      m.pool.encryptFileInPool(pool, source, {
        name: "bench.bin",
        chunkSize,
        onBlob: (index, blob) => {
          blobs += 1;
          blobBytes += blob.length;
          if (index < keep) {
            kept[index] = blob;
          }
        },
      }),
    );
    const seconds = (now() - t0) / 1000;
    const d = result.descriptor;
    if (d.nChunks !== blobs || blobBytes !== d.size + d.nChunks * m.attachments.CHUNK_OVERHEAD) {
      throw new Error("encryptFileInPool did not hand over every blob");
    }
    let keptVerified = null;
    if (keep > 0) {
      // Untimed: the kept blobs open (h_i against manifest_root, AEAD) to what went in.
      const plains = [...source.kept.keys()].sort((a, b) => a - b).map((k) => source.kept.get(k));
      const manifest = new m.attachments.FileManifest(d, result.hashes);
      keptVerified = kept.length === plains.length && kept.every((blob, i) => sameBytes(manifest.openChunk(i, blob), plains[i]));
      if (!keptVerified) {
        throw new Error("a kept blob does not open to its plaintext");
      }
      lastFile = { descriptor: d, hashes: result.hashes, blobs: kept, plains };
    }
    return {
      MiB: sizeMiB,
      seconds,
      mibps: sizeMiB / seconds,
      nChunks: d.nChunks,
      poolSize: pool.size,
      workersUsed: pool.slots.length,
      mainHashSeconds: meter.ms / 1000,
      mainHashMiB: meter.bytes / MiB,
      generateSeconds: source.ms / 1000,
      keptVerified,
    };
  } catch (error) {
    return { error: String(error?.message ?? error), capped: /time cap/.test(String(error)) };
  } finally {
    pool.close();
  }
}

/**
 * The same dispatch as encryptFileInPool (chunks read in order, at most two per worker in
 * flight, plaintext transferred, blob and h_i back) without the whole-file SHA-256.
 */
export async function encryptChunksOnly({ sizeMiB, chunkMiB, capSeconds, pool: kind = "product" }) {
  const chunkSize = chunkMiB * MiB;
  const size = sizeMiB * MiB;
  const source = new SyntheticFile(size, chunkSize);
  const pool = makePool(kind);
  try {
    await warm(pool);
    const file = m.attachments.newFile(size, chunkSize);
    const inFlight = new Set();
    let bytes = 0;
    let capped = false;
    const t0 = now();
    const deadline = t0 + capSeconds * 1000;
    for (let index = 0; index < file.nChunks; index++) {
      while (inFlight.size >= 2 * pool.size) {
        await Promise.race(inFlight);
      }
      if (now() > deadline) {
        capped = true;
        break;
      }
      const start = index * chunkSize;
      const end = start + m.attachments.chunkLength(index, size, chunkSize);
      const plain = new Uint8Array(await source.slice(start, end).arrayBuffer());
      const task = pool
        .run("encrypt", { ...file, index, plain }, [plain.buffer])
        .then(({ blob, hash }) => {
          if (blob.length !== end - start + m.attachments.CHUNK_OVERHEAD || hash.length !== 32) {
            throw new Error("bad blob");
          }
          bytes += end - start;
        })
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
      task.catch(() => {});
    }
    await Promise.all(inFlight);
    const seconds = (now() - t0) / 1000;
    return { MiB: bytes / MiB, seconds, mibps: bytes / MiB / seconds, capped, poolSize: pool.size, generateSeconds: source.ms / 1000 };
  } finally {
    pool.close();
  }
}

/**
 * Open chunks of the file from encryptPipeline({keep}) through the pool's "open" operation
 * (§8.4 steps 1–3: length, h_i against the manifest, AEAD), cycling over the kept blobs until
 * `sizeMiB` of plaintext came out. With `wholeFileHash`, this thread also feeds the plaintext
 * to a streaming SHA-256 in index order as the chunks come back (what a streaming reader does
 * for step 5); the digest cannot equal the descriptor's because the chunks repeat.
 */
export async function decryptStream({ sizeMiB, wholeFileHash, capSeconds }) {
  if (lastFile === null) {
    throw new Error("run encryptPipeline with keep > 0 first");
  }
  const manifest = new m.attachments.FileManifest(lastFile.descriptor, lastFile.hashes);
  const d = manifest.descriptor;
  const blobs = lastFile.blobs;
  const k = blobs.length;
  const total = Math.round((sizeMiB * MiB) / d.chunkSize);
  const pool = m.pool.chunkPool();
  const sodium = m.sodium;
  try {
    await warm(pool);
    // Untimed: each kept blob opens to exactly the plaintext that went in.
    const opened = await Promise.all(
      blobs.map((blob, index) => pool.run("open", { descriptor: d, chunkHashes: manifest.hashes, index, blob })),
    );
    const verified = opened.every((plain, i) => sameBytes(plain, lastFile.plains[i]));
    if (!verified) {
      throw new Error("a decrypted chunk differs from its plaintext");
    }
    const state = wholeFileHash ? sodium.crypto_hash_sha256_init() : null;
    const pending = new Map();
    let nextToHash = 0;
    let hashMs = 0;
    const inFlight = new Set();
    let bytes = 0;
    let capped = false;
    const t0 = now();
    const deadline = t0 + capSeconds * 1000;
    for (let n = 0; n < total; n++) {
      while (inFlight.size >= 2 * pool.size) {
        await Promise.race(inFlight);
      }
      if (now() > deadline) {
        capped = true;
        break;
      }
      const index = n % k;
      // As openFileInPool does: the blob is copied to the worker (no transfer list).
      const task = pool
        .run("open", { descriptor: d, chunkHashes: manifest.hashes, index, blob: blobs[index] })
        .then((plain) => {
          if (plain.length !== d.chunkSize) {
            throw new Error("bad plaintext length");
          }
          bytes += plain.length;
          if (state !== null) {
            pending.set(n, plain);
            const t = now();
            while (pending.has(nextToHash)) {
              sodium.crypto_hash_sha256_update(state, pending.get(nextToHash));
              pending.delete(nextToHash);
              nextToHash += 1;
            }
            hashMs += now() - t;
          }
        })
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
      task.catch(() => {});
    }
    await Promise.all(inFlight);
    if (state !== null) {
      sodium.crypto_hash_sha256_final(state);
    }
    const seconds = (now() - t0) / 1000;
    return {
      MiB: bytes / MiB,
      seconds,
      mibps: bytes / MiB / seconds,
      capped,
      distinctChunks: k,
      verified,
      mainHashSeconds: hashMs / 1000,
      poolSize: pool.size,
    };
  } finally {
    pool.close();
  }
}

/**
 * Bench-only: what openFileInPool does (same "open" requests, blobs copied to the workers, the
 * whole plaintext assembled, every check of §8.4 including the whole-file SHA-256), except that
 * the SHA-256 is fed in index order while later chunks are still being decrypted, instead of
 * after all of them. At most two requests per worker in flight, as encryptFileInPool.
 */
async function openFilePipelined(pool, descriptor, chunkHashes, blobs) {
  const sodium = m.sodium;
  const manifest = new m.attachments.FileManifest(descriptor, chunkHashes);
  const d = manifest.descriptor;
  const plain = new Uint8Array(d.size);
  const state = sodium.crypto_hash_sha256_init();
  const pending = new Map();
  const inFlight = new Set();
  let next = 0;
  for (let index = 0; index < d.nChunks; index++) {
    while (inFlight.size >= 2 * pool.size) {
      await Promise.race(inFlight);
    }
    const task = pool
      .run("open", { descriptor: d, chunkHashes: manifest.hashes, index, blob: blobs[index] })
      .then((chunk) => {
        pending.set(index, chunk);
        while (pending.has(next)) {
          const part = pending.get(next);
          pending.delete(next);
          plain.set(part, next * d.chunkSize);
          sodium.crypto_hash_sha256_update(state, part);
          next += 1;
        }
      })
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
    task.catch(() => {});
  }
  await Promise.all(inFlight);
  const digest = sodium.crypto_hash_sha256_final(state);
  if (next !== d.nChunks || !sameBytes(digest, d.sha256)) {
    throw new Error("sha256: SHA-256 of the file does not match");
  }
  return plain;
}

/**
 * The product's openFileInPool on a real file of `sizeMiB` (it returns the whole plaintext,
 * so the size is kept small): every check of §8.4 including the whole-file SHA-256; then the
 * bench-only pipelined equivalent on the same file.
 */
export async function openWholeFile({ sizeMiB, chunkMiB }) {
  const data = randomFill(new Uint8Array(sizeMiB * MiB));
  const pool = m.pool.chunkPool();
  try {
    await warm(pool);
    const enc = await m.pool.encryptFileInPool(pool, data, { chunkSize: chunkMiB * MiB });
    const t0 = now();
    const { value: plain, meter } = await withHashMeter(() =>
      m.pool.openFileInPool(pool, enc.descriptor, enc.hashes, enc.blobs),
    );
    const seconds = (now() - t0) / 1000;
    if (!sameBytes(plain, data)) {
      throw new Error("openFileInPool returned other bytes");
    }
    const t1 = now();
    const { value: plain2, meter: meter2 } = await withHashMeter(() =>
      openFilePipelined(pool, enc.descriptor, enc.hashes, enc.blobs),
    );
    const seconds2 = (now() - t1) / 1000;
    if (!sameBytes(plain2, data)) {
      throw new Error("the pipelined open returned other bytes");
    }
    return {
      MiB: sizeMiB,
      seconds,
      mibps: sizeMiB / seconds,
      mainHashSeconds: meter.ms / 1000,
      poolSize: pool.size,
      pipelined: { MiB: sizeMiB, seconds: seconds2, mibps: sizeMiB / seconds2, mainHashSeconds: meter2.ms / 1000 },
    };
  } finally {
    pool.close();
  }
}

function describeMessage(openpgp, message) {
  return message.packets.map((p) => {
    const parts = [openpgp.enums.read(openpgp.enums.packet, p.constructor.tag)];
    if (p.version !== undefined) {
      parts.push(`v${p.version}`);
    }
    if (p.publicKeyAlgorithm !== undefined) {
      parts.push(openpgp.enums.read(openpgp.enums.publicKey, p.publicKeyAlgorithm));
    }
    if (p.cipherAlgorithm) {
      parts.push(openpgp.enums.read(openpgp.enums.symmetric, p.cipherAlgorithm));
    }
    if (p.aeadAlgorithm) {
      parts.push(openpgp.enums.read(openpgp.enums.aead, p.aeadAlgorithm));
    }
    return parts.join(" ");
  });
}

async function drain(stream, deadline) {
  const reader = stream.getReader();
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      return { bytes, capped: false };
    }
    bytes += value.length;
    if (now() > deadline) {
      await reader.cancel();
      return { bytes, capped: true };
    }
  }
}

async function collect(stream) {
  const parts = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      return parts;
    }
    parts.push(value);
  }
}

/** The key and settings of the last default-config openpgpBench(), for openpgpDecrypt(). */
let lastPgp = null;

/**
 * OpenPGP.js (served at `url`): encrypt a synthetic file of `sizeMiB` as a web stream to a
 * fresh curve25519 (X25519) key, binary output drained and dropped.
 */
export async function openpgpBench({ url, sizeMiB, chunkMiB, capSeconds, aead = false }) {
  const openpgp = await import(url);
  const config = aead ? { aeadProtect: true } : {};
  const { publicKey, privateKey } = await openpgp.generateKey({
    type: "curve25519",
    userIDs: [{ name: "bench", email: "bench@example.invalid" }],
    format: "object",
    config,
  });
  const encrypt = async (stream) =>
    openpgp.encrypt({ message: await openpgp.createMessage({ binary: stream }), encryptionKeys: publicKey, format: "binary", config });
  if (!aead) {
    lastPgp = { openpgp, privateKey, config, encrypt };
  }
  const probe = await encrypt(new SyntheticFile(4 * MiB, chunkMiB * MiB).stream());
  const probeBytes = (await collect(probe)).reduce((s, p) => s + p.length, 0);
  const small = await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: new Uint8Array(1024) }),
    encryptionKeys: publicKey,
    format: "binary",
    config,
  });
  const packets = describeMessage(openpgp, await openpgp.readMessage({ binaryMessage: small }));
  const subkey = publicKey.getSubkeys()[0];
  const out = {
    version: openpgp.config.versionString,
    defaultCipher: openpgp.enums.read(openpgp.enums.symmetric, openpgp.config.preferredSymmetricAlgorithm),
    encryptionKey: subkey.getAlgorithmInfo(),
    packets,
    probeBytes,
  };

  const source = new SyntheticFile(sizeMiB * MiB, chunkMiB * MiB);
  const t0 = now();
  const encrypted = await encrypt(source.stream());
  const { bytes, capped } = await drain(encrypted, t0 + capSeconds * 1000);
  const seconds = (now() - t0) / 1000;
  // When capped: the ciphertext drained so far (a few hundred bytes more than its plaintext).
  const inMiB = capped ? bytes / MiB : sizeMiB;
  Object.assign(out, { MiB: inMiB, seconds, mibps: inMiB / seconds, outMiB: bytes / MiB, capped, generateSeconds: source.ms / 1000 });
  return out;
}

/**
 * With the key of the last default-config openpgpBench(): encrypt `sizeMiB` into memory (untimed), then time
 * its streamed decryption, plaintext drained and dropped. OpenPGP.js holds back the plaintext
 * of a SEIPD v1 message until its MDC has checked (allowUnauthenticatedStream is off), so the
 * size stays moderate.
 */
export async function openpgpDecrypt({ sizeMiB, chunkMiB, capSeconds }) {
  const { openpgp, privateKey, config, encrypt } = lastPgp;
  const ciphertext = await collect(await encrypt(new SyntheticFile(sizeMiB * MiB, chunkMiB * MiB).stream()));
  let i = 0;
  const stream = new ReadableStream({
    pull(controller) {
      if (i < ciphertext.length) {
        controller.enqueue(ciphertext[i++]);
      } else {
        controller.close();
      }
    },
  });
  const t0 = now();
  const message = await openpgp.readMessage({ binaryMessage: stream });
  const { data } = await openpgp.decrypt({ message, decryptionKeys: privateKey, format: "binary", config });
  const { bytes, capped } = await drain(data, t0 + capSeconds * 1000);
  const seconds = (now() - t0) / 1000;
  return { MiB: bytes / MiB, seconds, mibps: bytes / MiB / seconds, capped, complete: bytes === sizeMiB * MiB };
}
