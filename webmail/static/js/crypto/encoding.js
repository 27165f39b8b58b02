// Byte encodings of PROTOCOL.md §1: base64url without padding, hex identifiers, big-endian
// integers, length-prefixed fields, UTF-8, constant-time comparison.
import { CryptoError, ensure } from "./errors.js";
import { lib } from "./sodium.js";

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) {
  B64_INDEX[B64.charCodeAt(i)] = i;
}

/**
 * RFC 4648 §5 base64url without padding.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function b64encode(bytes) {
  let out = "";
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[n >>> 18] + B64[(n >>> 12) & 63] + B64[(n >>> 6) & 63] + B64[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += B64[n >>> 18] + B64[(n >>> 12) & 63];
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64[n >>> 18] + B64[(n >>> 12) & 63] + B64[(n >>> 6) & 63];
  }
  return out;
}

/**
 * Strict base64url-without-padding decoder: refuses padding, characters outside the
 * alphabet, impossible lengths and non-zero unused trailing bits (check `format`).
 * @param {unknown} text
 * @param {number} [length] the exact number of bytes required, if any
 * @returns {Uint8Array}
 */
export function b64decode(text, length) {
  ensure(typeof text === "string", "format", "base64: not a string");
  const tail = text.length % 4;
  ensure(tail !== 1, "format", "base64: impossible length");
  const out = new Uint8Array(Math.floor(text.length / 4) * 3 + (tail === 0 ? 0 : tail - 1));
  const sextet = (i) => {
    const code = text.charCodeAt(i);
    const value = code < 128 ? B64_INDEX[code] : -1;
    ensure(value >= 0, "format", "base64: character outside the base64url alphabet");
    return value;
  };
  let o = 0;
  let i = 0;
  for (; i + 4 <= text.length; i += 4) {
    const n = (sextet(i) << 18) | (sextet(i + 1) << 12) | (sextet(i + 2) << 6) | sextet(i + 3);
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 255;
    out[o++] = n & 255;
  }
  if (tail === 2) {
    const a = sextet(i);
    const b = sextet(i + 1);
    ensure((b & 15) === 0, "format", "base64: non-canonical trailing bits");
    out[o++] = (a << 2) | (b >>> 4);
  } else if (tail === 3) {
    const a = sextet(i);
    const b = sextet(i + 1);
    const c = sextet(i + 2);
    ensure((c & 3) === 0, "format", "base64: non-canonical trailing bits");
    out[o++] = (a << 2) | (b >>> 4);
    out[o++] = ((b & 15) << 4) | (c >>> 2);
  }
  if (length !== undefined) {
    ensure(out.length === length, "format", `base64: expected ${length} bytes, got ${out.length}`);
  }
  return out;
}

/**
 * Lower-case hexadecimal.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function toHex(bytes) {
  let out = "";
  for (const byte of bytes) {
    out += byte.toString(16).padStart(2, "0");
  }
  return out;
}

/**
 * Strict lower-case hexadecimal decoder (check `format`).
 * @param {unknown} text
 * @param {number} [length] the exact number of bytes required, if any
 * @returns {Uint8Array}
 */
export function fromHex(text, length) {
  ensure(typeof text === "string" && /^(?:[0-9a-f]{2})*$/.test(text), "format", "hex: not lower-case hex");
  if (length !== undefined) {
    ensure(text.length === 2 * length, "format", `hex: expected ${length} bytes`);
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/** Length of a member id (uid) and of a msg_id, file_id or challenge_id. */
export const ID_BYTES = 16;

/**
 * True if `text` is an identifier as written in JSON: 32 lower-case hex digits.
 * @param {unknown} text
 * @returns {boolean}
 */
export function isHexId(text) {
  return typeof text === "string" && /^[0-9a-f]{32}$/.test(text);
}

/**
 * @param {Uint8Array} uid 16 bytes
 * @returns {string} 32 lower-case hex digits
 */
export function uidToHex(uid) {
  if (!(uid instanceof Uint8Array) || uid.length !== ID_BYTES) {
    throw new TypeError("a uid is 16 bytes");
  }
  return toHex(uid);
}

/**
 * @param {unknown} text 32 lower-case hex digits
 * @returns {Uint8Array} 16 bytes
 */
export function uidFromHex(text) {
  return fromHex(text, ID_BYTES);
}

function unsigned(x, bits) {
  const max = bits === 64 ? Number.MAX_SAFE_INTEGER : 2 ** bits - 1;
  if (!Number.isSafeInteger(x) || x < 0 || x > max) {
    throw new RangeError(`${x} does not fit an unsigned ${bits}-bit integer here`);
  }
}

/** @param {number} x @returns {Uint8Array} BE16(x) */
export function be16(x) {
  unsigned(x, 16);
  return Uint8Array.of(x >>> 8, x & 255);
}

/** @param {number} x @returns {Uint8Array} BE32(x) */
export function be32(x) {
  unsigned(x, 32);
  return Uint8Array.of(x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255);
}

/**
 * BE64(x) for 0 ≤ x ≤ 2^53 − 1 (two 32-bit halves).
 * @param {number} x
 * @returns {Uint8Array}
 */
export function be64(x) {
  unsigned(x, 64);
  const out = new Uint8Array(8);
  out.set(be32(Math.floor(x / 2 ** 32)), 0);
  out.set(be32(x % 2 ** 32), 4);
  return out;
}

/** @param {Uint8Array} bytes @param {number} offset @returns {number} */
export function readBE16(bytes, offset) {
  return (bytes[offset] << 8) | bytes[offset + 1];
}

/** @param {Uint8Array} bytes @param {number} offset @returns {number} */
export function readBE32(bytes, offset) {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]) >>> 0;
}

/**
 * A BE64 value as a JavaScript number; values above 2^53 − 1 are refused (check `format`).
 * @param {Uint8Array} bytes
 * @param {number} offset
 * @returns {number}
 */
export function readBE64(bytes, offset) {
  const high = readBE32(bytes, offset);
  ensure(high < 2 ** 21, "format", "64-bit value above 2^53 - 1");
  return high * 2 ** 32 + readBE32(bytes, offset + 4);
}

/**
 * Concatenate byte strings.
 * @param {...Uint8Array} parts
 * @returns {Uint8Array}
 */
export function concat(...parts) {
  let length = 0;
  for (const part of parts) {
    length += part.length;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * lp(x) = BE32(len(x)) ‖ x.
 * @param {Uint8Array} bytes
 * @returns {Uint8Array}
 */
export function lp(bytes) {
  return concat(be32(bytes.length), bytes);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * UTF-8 bytes of a string (ASCII for the protocol's labels).
 * @param {string} text
 * @returns {Uint8Array}
 */
export function utf8(text) {
  return encoder.encode(text);
}

/**
 * Strict UTF-8 decoding: malformed sequences (and encoded surrogates) are refused with a
 * CryptoError of the given check; a byte-order mark is kept, not dropped.
 * @param {Uint8Array} bytes
 * @param {string} check
 * @returns {string}
 */
export function utf8Decode(bytes, check) {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new CryptoError(check, "invalid UTF-8");
  }
}

/**
 * Constant-time equality of two byte strings (sodium.memcmp); different lengths are unequal.
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 * @returns {boolean}
 */
export function equal(a, b) {
  return a.length === b.length && lib().memcmp(a, b);
}

/**
 * Byte-order comparison, for sorting entries: negative, zero or positive.
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 * @returns {number}
 */
export function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      return a[i] - b[i];
    }
  }
  return a.length - b.length;
}
