// Bench-only chunk worker (not a product file): chunk.worker.js's "encrypt" as it was before
// h_i became BLAKE2b-256 (PROTOCOL.md §8.1), i.e. with h_i = SHA-256(blob_i) by libsodium.js,
// to show in the same run what that change saves. The AEAD, the associated data and the blob
// layout are the product's own functions; the hashes do not match the current protocol, so
// these blobs are never opened. Answers follow rpc.js, so pool.js's WorkerPool and
// encryptFileInPool drive it unchanged.
const base = new URL(self.location.href).searchParams.get("base");

const loading = Promise.all(
  ["attachments.js", "primitives.js", "encoding.js", "sodium.js"].map((name) => import(base + name)),
).then(async ([attachments, primitives, encoding, sodium]) => {
  await sodium.ready();
  return { attachments, primitives, encoding };
});

self.addEventListener("message", async (event) => {
  const { id, op, args } = event.data ?? {};
  try {
    const { attachments, primitives, encoding } = await loading;
    if (op !== "encrypt") {
      throw new Error(`unknown operation ${op}`);
    }
    const { fileKey, fileId, index, size, chunkSize, plain } = args;
    const nChunks = attachments.chunkCount(size, chunkSize);
    if (plain.length !== attachments.chunkLength(index, size, chunkSize)) {
      throw new RangeError("chunk plaintext has the wrong length");
    }
    const nonce = primitives.randomBytes(primitives.AEAD_NONCE);
    const ad = attachments.chunkAd(fileId, index, nChunks, size, chunkSize);
    const blob = encoding.concat(nonce, primitives.aeadEncrypt(fileKey, nonce, plain, ad));
    const hash = primitives.SHA256(blob);
    self.postMessage({ id, ok: true, result: { blob, hash } }, [blob.buffer]);
  } catch (error) {
    self.postMessage({ id, ok: false, error: { check: null, message: String(error?.message ?? error) } });
  }
});
