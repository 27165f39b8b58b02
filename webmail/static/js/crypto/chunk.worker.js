// Module worker: encrypts and opens attachment chunks (§8.1, §8.4 steps 1–3).
//   {op: "encrypt", args: {fileKey, fileId, index, size, chunkSize, plain}} → {blob, hash}
//   {op: "open", args: {descriptor, chunkHashes, index, blob}} → plain
import { encryptChunk, openChunk } from "./attachments.js";
import { serve, transferable } from "./rpc.js";

serve({
  encrypt(args) {
    const { blob, hash } = encryptChunk(args);
    return { result: { blob, hash }, transfer: transferable(blob) };
  },
  open({ descriptor, chunkHashes, index, blob }) {
    const plain = openChunk(descriptor, chunkHashes, index, blob);
    return { result: plain, transfer: transferable(plain) };
  },
});
