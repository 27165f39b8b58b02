// The one place that loads libsodium (the sumo build: crypto_pwhash and SHA-256 need it).
import sodium from "../../vendor/libsodium-wrappers.mjs";

let loaded = null;

/**
 * Wait until libsodium's WebAssembly is instantiated. Every other module of this folder
 * needs it; call (and await) this once before using them.
 * @returns {Promise<typeof sodium>}
 */
export async function ready() {
  await sodium.ready;
  loaded = sodium;
  return sodium;
}

/**
 * libsodium, once ready() has finished.
 * @returns {typeof sodium}
 */
export function lib() {
  if (loaded === null) {
    throw new Error("libsodium is not ready: await ready() from crypto/sodium.js first");
  }
  return loaded;
}
