// RFC 9162 Merkle trees (SHA-256 with 0x00 / 0x01 prefixes): roots, inclusion and consistency
// proofs, byte-identical to isecom/crypto/merkle.py. Verification follows RFC 9162 §2.1.3.2
// (inclusion) and §2.1.4.2 (consistency) step by step. Sizes and indices are JavaScript numbers
// (safe integers), so no 32-bit bitwise operator is used on them.
import { concat, equal } from "./encoding.js";
import { SHA256 } from "./primitives.js";

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** @param {Uint8Array} data @returns {Uint8Array} SHA256(0x00 ‖ data) */
export function leafHash(data) {
  return SHA256(concat(LEAF_PREFIX, data));
}

/** @param {Uint8Array} left @param {Uint8Array} right @returns {Uint8Array} SHA256(0x01 ‖ left ‖ right) */
export function nodeHash(left, right) {
  return SHA256(concat(NODE_PREFIX, left, right));
}

const odd = (x) => x % 2 === 1;
const half = (x) => Math.floor(x / 2);

function isPowerOfTwo(x) {
  let n = x;
  while (n > 1 && n % 2 === 0) {
    n /= 2;
  }
  return n === 1;
}

/** The largest power of two smaller than n (n > 1). */
function split(n) {
  let k = 1;
  while (k * 2 < n) {
    k *= 2;
  }
  return k;
}

function validSize(x) {
  return Number.isSafeInteger(x) && x >= 0;
}

/**
 * MTH(D[n]) over leaf hashes (RFC 9162 §2.1.1).
 * @param {Uint8Array[]} leaves leaf hashes
 * @returns {Uint8Array}
 */
export function root(leaves) {
  if (leaves.length === 0) {
    return SHA256(new Uint8Array(0));
  }
  if (leaves.length === 1) {
    return leaves[0];
  }
  const k = split(leaves.length);
  return nodeHash(root(leaves.slice(0, k)), root(leaves.slice(k)));
}

/**
 * PATH(m, D[n]) (RFC 9162 §2.1.3.1).
 * @param {number} index
 * @param {Uint8Array[]} leaves leaf hashes
 * @returns {Uint8Array[]}
 */
export function inclusionProof(index, leaves) {
  const n = leaves.length;
  if (!(Number.isSafeInteger(index) && index >= 0 && index < n)) {
    throw new RangeError("leaf index out of range");
  }
  if (n === 1) {
    return [];
  }
  const k = split(n);
  if (index < k) {
    return [...inclusionProof(index, leaves.slice(0, k)), root(leaves.slice(k))];
  }
  return [...inclusionProof(index - k, leaves.slice(k)), root(leaves.slice(0, k))];
}

/**
 * PROOF(m, D[n]) (RFC 9162 §2.1.4.1).
 * @param {number} oldSize
 * @param {Uint8Array[]} leaves leaf hashes of the new tree
 * @returns {Uint8Array[]}
 */
export function consistencyProof(oldSize, leaves) {
  if (!(Number.isSafeInteger(oldSize) && oldSize > 0 && oldSize <= leaves.length)) {
    throw new RangeError("old size out of range");
  }
  const sub = (m, part, complete) => {
    const n = part.length;
    if (m === n) {
      return complete ? [] : [root(part)];
    }
    const k = split(n);
    if (m <= k) {
      return [...sub(m, part.slice(0, k), complete), root(part.slice(k))];
    }
    return [...sub(m - k, part.slice(k), false), root(part.slice(0, k))];
  };
  return sub(oldSize, leaves, true);
}

/**
 * RFC 9162 §2.1.3.2: does `proof` lead from leaf hash `leaf` at `index` to `expectedRoot` of a
 * tree of `size` leaves?
 * @param {Uint8Array} leaf
 * @param {number} index
 * @param {number} size
 * @param {Uint8Array[]} proof
 * @param {Uint8Array} expectedRoot
 * @returns {boolean}
 */
export function verifyInclusion(leaf, index, size, proof, expectedRoot) {
  if (!(validSize(index) && validSize(size) && index < size)) {
    return false;
  }
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) {
      return false;
    }
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!odd(fn)) {
        while (fn !== 0 && !odd(fn)) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equal(r, expectedRoot);
}

/**
 * RFC 9162 §2.1.4.2: is the tree of `newSize` leaves with `newRoot` an extension of the tree of
 * `oldSize` leaves with `oldRoot`?
 * @param {number} oldSize
 * @param {number} newSize
 * @param {Uint8Array} oldRoot
 * @param {Uint8Array} newRoot
 * @param {Uint8Array[]} proof
 * @returns {boolean}
 */
export function verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof) {
  if (!(validSize(oldSize) && validSize(newSize))) {
    return false;
  }
  if (oldSize === newSize) {
    return proof.length === 0 && equal(oldRoot, newRoot);
  }
  if (!(oldSize > 0 && oldSize < newSize) || proof.length === 0) {
    return false;
  }
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : proof;
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) {
      return false;
    }
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!odd(fn)) {
        while (fn !== 0 && !odd(fn)) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equal(fr, oldRoot) && equal(sr, newRoot);
}
