// Module worker: decrypts downloaded attachment chunks (§8.4 steps 1 and 3) and returns each
// chunk's hash h_i, so the reader can recompute manifest_root once every chunk is in: the
// server does not send the manifest to recipients, the signed descriptor carries its root.
//   {op: "decrypt", args: {descriptor, index, blob}} → {plain, hash}
import { CHUNK_OVERHEAD, chunkAd, chunkHash, chunkLength } from "./attachments.js";
import { ensure } from "./errors.js";
import { AEAD_NONCE, aeadDecrypt } from "./primitives.js";
import { serve, transferable } from "./rpc.js";

serve({
  decrypt({ descriptor, index, blob }) {
    const { fileId, fileKey, size, chunkSize, nChunks } = descriptor;
    ensure(Number.isSafeInteger(index) && index >= 0 && index < nChunks, "format", "chunk index out of range");
    ensure(blob.length === CHUNK_OVERHEAD + chunkLength(index, size, chunkSize), "format", "chunk blob length");
    const hash = chunkHash(blob);
    const ad = chunkAd(fileId, index, nChunks, size, chunkSize);
    const plain = aeadDecrypt(fileKey, blob.subarray(0, AEAD_NONCE), blob.subarray(AEAD_NONCE), ad);
    return { result: { plain, hash }, transfer: transferable(plain) };
  },
});
