// The message protocol between pool.js and the module workers of this folder.
//   request  {id, op, args}
//   response {id, ok: true, result} | {id, ok: false, error: {check, message}}
import { CryptoError } from "./errors.js";
import { ready } from "./sodium.js";

/**
 * The ArrayBuffers of `values` that can be moved rather than copied: whole, exclusive buffers
 * only (never a view into a larger buffer such as WebAssembly memory).
 * @param {...unknown} values
 * @returns {ArrayBuffer[]}
 */
export function transferable(...values) {
  const out = [];
  for (const v of values) {
    const whole = v instanceof Uint8Array && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength;
    if (whole && v.buffer instanceof ArrayBuffer && !out.includes(v.buffer)) {
      out.push(v.buffer);
    }
  }
  return out;
}

/**
 * Run a worker: answer each request with handlers[op](args), which returns
 * {result, transfer?}. Call once, at the top level of a worker module, so no message that
 * arrives while libsodium loads is lost.
 * @param {Record<string, (args: any) => {result: unknown, transfer?: ArrayBuffer[]}>} handlers
 */
export function serve(handlers) {
  const loading = ready();
  self.addEventListener("message", async (event) => {
    const { id, op, args } = event.data ?? {};
    try {
      await loading;
      if (!Object.hasOwn(handlers, op)) {
        throw new Error(`unknown operation ${op}`);
      }
      const { result, transfer = [] } = handlers[op](args);
      self.postMessage({ id, ok: true, result }, transfer);
    } catch (error) {
      const check = error instanceof CryptoError ? error.check : null;
      self.postMessage({ id, ok: false, error: { check, message: String(error?.message ?? error) } });
    }
  });
}

/**
 * Turn a worker's error answer back into an exception (a CryptoError when it names a check).
 * @param {{check: string|null, message: string}} error
 * @returns {Error}
 */
export function revive(error) {
  if (error.check) {
    const revived = new CryptoError(error.check);
    revived.message = error.message;
    return revived;
  }
  return new Error(error.message);
}
