// Payload padding of PROTOCOL.md §6.3: Padmé lengths, ISO/IEC 7816-4 bytes (sodium_pad).
import { CryptoError, ensure } from "./errors.js";
import { lib } from "./sodium.js";

/** The smallest padded payload. */
export const MIN_PADDED = 256;

function floorLog2(x) {
  let e = 0;
  while (2 ** (e + 1) <= x) {
    e++;
  }
  return e;
}

/**
 * Padmé: round L up so that only O(log log L) bits of it remain (L < 4 is returned as is).
 * @param {number} L a non-negative safe integer
 * @returns {number}
 */
export function padme(L) {
  if (!Number.isSafeInteger(L) || L < 0) {
    throw new RangeError("padme needs a non-negative integer");
  }
  if (L < 4) {
    return L;
  }
  const E = floorLog2(L);
  const S = floorLog2(E) + 1;
  const z = E - S;
  const unit = 2 ** z;
  return Math.ceil(L / unit) * unit;
}

/**
 * The target length T = max(256, padme(len(payload) + 1)).
 * @param {number} payloadLength
 * @returns {number}
 */
export function paddedLength(payloadLength) {
  return Math.max(MIN_PADDED, padme(payloadLength + 1));
}

/**
 * True if `length` is a value paddedLength() can produce (Padmé is idempotent, so these are
 * 256 and every larger fixed point of padme).
 * @param {number} length
 * @returns {boolean}
 */
export function isPaddedLength(length) {
  return length === MIN_PADDED || (length > MIN_PADDED && padme(length) === length);
}

/**
 * pad(p): a 0x80 byte then zero bytes, up to paddedLength(len(p)).
 * @param {Uint8Array} payload
 * @returns {Uint8Array}
 */
export function pad(payload) {
  const padded = lib().pad(payload, paddedLength(payload.length));
  if (padded.length !== paddedLength(payload.length)) {
    throw new Error("sodium.pad gave an unexpected length");
  }
  return padded;
}

/**
 * Remove the padding (check `padding`): the length must be one pad() produces, sodium_unpad
 * over the whole buffer must succeed, and pad() of the result must give this very length (so
 * there is exactly one padded form of each payload).
 * @param {Uint8Array} padded
 * @returns {Uint8Array}
 */
export function unpad(padded) {
  ensure(isPaddedLength(padded.length), "padding", "not a padded length");
  let payload;
  try {
    payload = lib().unpad(padded, padded.length);
  } catch {
    throw new CryptoError("padding", "malformed padding");
  }
  ensure(paddedLength(payload.length) === padded.length, "padding", "more padding than pad() adds");
  return payload;
}
