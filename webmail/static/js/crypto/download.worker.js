// Module worker: fetches, checks and decrypts the chunks of a file being downloaded (§8.4 steps
// 1 and 3), returns each chunk's hash h_i (the reader recomputes manifest_root once every chunk is
// in: the server does not send the manifest to recipients, the signed descriptor carries its root)
// and takes its turn in the whole-file SHA-256 (step 5), whose state download.js passes from one
// worker to the next in chunk order.
//
// The bytes never cross a thread: each chunk's body is read from the network straight into
// libsodium's heap, hashed and decrypted there, put in a Blob (the browser's copy) and hashed into
// the SHA-256 from there. This uses the raw functions of the very libsodium build the wrappers
// sit on (`sodium.libsodium`), called exactly as the wrappers call them, only without their copies
// into and out of the heap: the blob would otherwise be copied in twice (hash, then decrypt) and
// the plaintext copied out, sent to the page and copied in again for the SHA-256.
//
// Requests {id, op, args}, answers {id, ok: true, result} | {id, ok: false, error}; error is
// {check, message} (a failed check) or {api: {status, code, message, field}} (a refused fetch).
// One worker handles several chunks at once (their fetches overlap); the page sends "sha" for a
// chunk only after its "open" has answered, and always to the worker that opened it.
//   {op: "open", args: {descriptor, index, url, bytes}} → {hash, plain}   (the plaintext kept here)
//     plain: a Blob of the plaintext, or with `bytes` a copy of it in its own ArrayBuffer (moved to
//     the page, for a target that takes bytes: no round trip through the browser's blob storage)
//   {op: "sha", args: {index, state, last}} → {state} | {digest}    (the plaintext freed)
import { ApiError } from "../api.js";
import { retried } from "../net.js";
import { CHUNK_OVERHEAD, chunkAd, chunkLength } from "./attachments.js";
import { CryptoError, ensure } from "./errors.js";
import { AEAD_NONCE, AEAD_TAG } from "./primitives.js";
import { ready } from "./sodium.js";

const HASH_BYTES = 32;
const loading = ready();
/** @type {any} the emscripten module under the wrappers */
let raw = null;
/** index → {ptr, length} of a decrypted chunk waiting for its turn in the SHA-256 */
const plains = new Map();

function malloc(length) {
  const ptr = raw._malloc(Math.max(1, length));
  if (ptr === 0) {
    throw new Error("out of memory in libsodium's heap");
  }
  return ptr;
}

/** libsodium's answer 0 (anything else would be a misuse: the wrappers throw then too). */
function succeeded(code) {
  if ((code | 0) !== 0) {
    throw new Error("libsodium refused the call");
  }
}

function put(bytes) {
  const ptr = malloc(bytes.length);
  raw.HEAPU8.set(bytes, ptr);
  return ptr;
}

/** Read buffers for the chunk bodies, reused (a fetch body is a byte stream in Chromium). */
const spares = [];
const SPARE_BYTES = 256 * 1024;

/** A reader of `response`'s body: read() gives the next piece (a Uint8Array) or null at the end. */
function pieces(response) {
  let byob = null;
  try {
    byob = response.body.getReader({ mode: "byob" });
  } catch {
    const reader = response.body.getReader(); // not a byte stream: pieces the stream allocates
    return {
      read: async () => (await reader.read()).value ?? null,
      done: () => {},
      cancel: () => reader.cancel().catch(() => {}),
    };
  }
  let spare = spares.pop() ?? new ArrayBuffer(SPARE_BYTES);
  return {
    read: async () => {
      const { done, value } = await byob.read(new Uint8Array(spare));
      if (value) {
        spare = value.buffer; // the buffer comes back in the answer, the one given is detached
      }
      return done ? null : value;
    },
    done: () => spares.push(spare),
    cancel: () => byob.cancel().catch(() => {}),
  };
}

/** The body of `response`, exactly `length` bytes, read into a fresh allocation of the heap. */
async function readInto(response, length) {
  const ptr = malloc(length);
  const body = pieces(response);
  let filled = 0;
  try {
    for (let piece = await body.read(); piece !== null; piece = await body.read()) {
      if (filled + piece.length > length) {
        body.cancel();
        throw new CryptoError("format", "chunk blob length");
      }
      raw.HEAPU8.set(piece, ptr + filled); // HEAPU8 read again: the heap may have grown
      filled += piece.length;
    }
    body.done();
    ensure(filled === length, "format", "chunk blob length");
    return ptr;
  } catch (error) {
    raw._free(ptr);
    throw error;
  }
}

async function open({ descriptor, index, url, bytes = false }) {
  const { fileId, fileKey, size, chunkSize, nChunks } = descriptor;
  ensure(Number.isSafeInteger(index) && index >= 0 && index < nChunks, "format", "chunk index out of range");
  ensure(!plains.has(index), "format", "chunk opened twice");
  const plainLength = chunkLength(index, size, chunkSize);
  const length = CHUNK_OVERHEAD + plainLength;
  const response = await retried(url, { method: "GET" });
  const blob = await readInto(response, length);
  const allocated = [blob];
  try {
    const hash = malloc(HASH_BYTES);
    allocated.push(hash);
    succeeded(raw._crypto_generichash(hash, HASH_BYTES, blob, length, 0, 0, 0));
    const h = raw.HEAPU8.slice(hash, hash + HASH_BYTES);
    const ad = chunkAd(fileId, index, nChunks, size, chunkSize);
    const adPtr = put(ad);
    allocated.push(adPtr);
    const key = put(fileKey);
    allocated.push(key);
    const plain = malloc(plainLength);
    const c = blob + AEAD_NONCE;
    const failed = raw._crypto_aead_xchacha20poly1305_ietf_decrypt(plain, null, null, c, plainLength + AEAD_TAG, 0, adPtr, ad.length, 0, blob, key);
    raw.HEAPU8.fill(0, key, key + fileKey.length);
    if (failed !== 0) {
      raw._free(plain);
      throw new CryptoError("decrypt", "AEAD tag does not verify");
    }
    plains.set(index, { ptr: plain, length: plainLength });
    // Either copies the bytes at once; the plaintext stays here for the SHA-256.
    if (bytes) {
      const copy = raw.HEAPU8.slice(plain, plain + plainLength);
      return { result: { hash: h, plain: copy }, transfer: [copy.buffer] };
    }
    return { result: { hash: h, plain: new Blob([raw.HEAPU8.subarray(plain, plain + plainLength)]) } };
  } finally {
    for (const ptr of allocated) {
      raw._free(ptr);
    }
  }
}

function take(index) {
  const plain = plains.get(index);
  ensure(plain !== undefined, "format", "chunk not opened here");
  plains.delete(index);
  return plain;
}

function sha({ index, state, last }) {
  const plain = take(index);
  const stateBytes = raw._crypto_hash_sha256_statebytes();
  const st = malloc(stateBytes);
  try {
    if (state === null) {
      succeeded(raw._crypto_hash_sha256_init(st));
    } else {
      ensure(state instanceof Uint8Array && state.length === stateBytes, "format", "SHA-256 state");
      raw.HEAPU8.set(state, st);
    }
    succeeded(raw._crypto_hash_sha256_update(st, plain.ptr, plain.length));
    if (!last) {
      return { result: { state: raw.HEAPU8.slice(st, st + stateBytes) } };
    }
    const out = malloc(32);
    succeeded(raw._crypto_hash_sha256_final(st, out));
    const digest = raw.HEAPU8.slice(out, out + 32);
    raw._free(out);
    return { result: { digest } };
  } finally {
    raw.HEAPU8.fill(0, st, st + stateBytes);
    raw._free(st);
    raw.HEAPU8.fill(0, plain.ptr, plain.ptr + plain.length);
    raw._free(plain.ptr);
  }
}

const handlers = { open, sha };

self.addEventListener("message", async (event) => {
  const { id, op, args } = event.data ?? {};
  try {
    raw = (await loading).libsodium;
    if (!Object.hasOwn(handlers, op)) {
      throw new Error(`unknown operation ${op}`);
    }
    const { result, transfer = [] } = await handlers[op](args);
    self.postMessage({ id, ok: true, result }, transfer);
  } catch (error) {
    const api =
      error instanceof ApiError ? { status: error.status, code: error.code, message: error.message, field: error.field } : null;
    const check = error instanceof CryptoError ? error.check : null;
    self.postMessage({ id, ok: false, error: { check, api, message: String(error?.message ?? error) } });
  }
});
