// Key-log test vectors (docs/PROTOCOL.md §9, §11; isecom/crypto/ktvectors.py is the Python twin):
// `key_statement`, `safety_number` and `keylog` cases. runKtCase checks one case the way a
// client checks a look-up (§9.10); generateKtCases makes key statements and safety numbers.
import { ensure } from "./errors.js";
import { b64decode, b64encode, be32, be64, concat, fromHex, lp, toHex, utf8 } from "./encoding.js";
import {
  KS_TAG,
  ZERO32,
  checkProgress,
  fingerprint,
  keyStatement,
  parseCheckpoint,
  parseKeyStatement,
  parseLogKey,
  safetyNumber,
  verifyResponse,
} from "./keytrans.js";
import { sign, signKeyPair } from "./primitives.js";

/** The kinds this module checks. */
export const KT_KINDS = Object.freeze(["key_statement", "safety_number", "keylog"]);

function statementFromInputs(c) {
  const { publicKey, privateKey } = signKeyPair(b64decode(c.sig_seed, 32));
  return keyStatement({
    sigSk: privateKey,
    sigPk: publicKey,
    uid: fromHex(c.uid, 16),
    email: c.email,
    seqno: c.seqno,
    prev: b64decode(c.prev, 32),
    encPk: b64decode(c.enc_pk, 32),
    created: c.created,
  });
}

function statementResult(c) {
  const ks = parseKeyStatement(b64decode(c.statement));
  return {
    statement: b64encode(statementFromInputs(c)),
    hash: b64encode(ks.hash),
    uid: toHex(ks.uid),
    email: ks.email,
    seqno: ks.seqno,
    sig_pk: b64encode(ks.sigPk),
    enc_pk: b64encode(ks.encPk),
  };
}

function member(x) {
  return [fromHex(x.uid, 16), b64decode(x.sig_pk, 32)];
}

function keylogResult(c) {
  const rootPk = b64decode(c.root_pk, 32);
  const entries = c.entries.map((e) => [e.index, b64decode(e.leaf), e.proof.map((p) => b64decode(p, 32))]);
  const { verified, checkpoint, logKey } = verifyResponse({
    rootPk,
    origin: c.origin,
    logKey: b64decode(c.log_key),
    checkpoint: b64decode(c.checkpoint),
    uid: fromHex(c.uid, 16),
    entries,
  });
  if (c.old_checkpoint !== undefined) {
    const old = parseCheckpoint(b64decode(c.old_checkpoint), parseLogKey(logKey.raw, rootPk).logPk);
    const same = old.size === checkpoint.size && b64encode(old.root) === b64encode(checkpoint.root);
    if (!same) {
      checkProgress(
        old,
        checkpoint,
        c.consistency.map((p) => b64decode(p, 32)),
      );
    }
  }
  const newest = Math.max(...entries.map(([index]) => index));
  ensure(newest >= (c.seen ?? -1), "log", "an older state of this member than already seen");
  ensure(verified.revoked === null, "revoked", "the current key statement is revoked");
  ensure(verified.usable(c.now), "chain", "the approval has expired");
  return {
    email: verified.keys.email,
    seqno: verified.keys.seqno,
    sig_pk: b64encode(verified.keys.sigPk),
    enc_pk: b64encode(verified.keys.encPk),
    name: verified.approval.name,
    country: verified.approval.country,
    agency: verified.approval.agency,
    not_after: verified.approval.notAfter,
    certificates: verified.certificates.map((cert) => cert.role),
    tree_size: checkpoint.size,
  };
}

/**
 * The outcome of one key-log case (throws CryptoError when a check fails).
 * @param {object} c
 * @returns {object}
 */
export function runKtCase(c) {
  switch (c.kind) {
    case "key_statement":
      return statementResult(c);
    case "safety_number": {
      const a = member(c.a);
      const b = member(c.b);
      return { a: fingerprint(...a), b: fingerprint(...b), pair: safetyNumber(a, b) };
    }
    case "keylog":
      return keylogResult(c);
    default:
      throw new Error(`unknown kind ${JSON.stringify(c.kind)}`);
  }
}

/**
 * Key statements (made here, byte for byte as Python makes them) and safety numbers, with the
 * negative cases a parser must refuse.
 * @param {(name: string, kind: string, inputs: object, expect: object) => void} add
 * @param {(n: number) => Uint8Array} random deterministic bytes
 * @param {number} created
 */
export function generateKtCases(add, random, created) {
  const seed = random(32);
  const { publicKey, privateKey } = signKeyPair(seed);
  const uid = random(16);
  const email = "fatima.zahra@dgsn.example";
  const made = [];
  let prev = ZERO32;
  for (const seqno of [0, 1]) {
    const encPk = random(32);
    const inputs = {
      sig_seed: b64encode(seed),
      uid: toHex(uid),
      email,
      seqno,
      prev: b64encode(prev),
      enc_pk: b64encode(encPk),
      created: created + seqno * 60,
    };
    const statement = statementFromInputs(inputs);
    const parsed = parseKeyStatement(statement);
    add(`key statement seqno ${seqno} (browser)`, "key_statement", { ...inputs, statement: b64encode(statement) }, {
      statement: b64encode(statement),
      hash: b64encode(parsed.hash),
      uid: toHex(uid),
      email,
      seqno,
      sig_pk: b64encode(publicKey),
      enc_pk: b64encode(encPk),
    });
    made.push({ inputs, statement });
    prev = parsed.hash;
  }
  const { inputs, statement } = made[0];
  const body = statement.slice(0, statement.length - 64);
  const bad = (name, bytes, check) =>
    add(`key statement ${name} (browser)`, "key_statement", { ...inputs, statement: b64encode(bytes) }, { error: check });
  const flipped = statement.slice();
  flipped[statement.length - 1] ^= 1;
  bad("bad self-signature", flipped, "signature");
  const swapped = statement.slice();
  swapped[body.length - 9] ^= 1; // the last byte of enc_pk
  bad("enc_pk swapped", swapped, "signature");
  const suite = body.slice();
  suite[KS_TAG.length] = 2;
  bad("unknown suite", concat(suite, sign(privateKey, suite)), "version");
  bad("trailing byte", concat(body, Uint8Array.of(0), sign(privateKey, concat(body, Uint8Array.of(0)))), "format");
  const nfd = concat(KS_TAG, Uint8Array.of(1), uid, lp(utf8("Jose\u0301@pf.example")), be32(0), ZERO32, publicKey, random(32), be64(created));
  bad("email not NFC", concat(nfd, sign(privateKey, nfd)), "format");

  const someone = () => ({ uid: toHex(random(16)), sig_pk: b64encode(signKeyPair(random(32)).publicKey) });
  const one = someone();
  const two = someone();
  const number = (a, b) => {
    const x = member(a);
    const y = member(b);
    return { a: fingerprint(...x), b: fingerprint(...y), pair: safetyNumber(x, y) };
  };
  add("safety number (browser)", "safety_number", { a: one, b: two }, number(one, two));
  add("safety number, other order (browser)", "safety_number", { a: two, b: one }, number(two, one));
  const sameKey = { uid: toHex(random(16)), sig_pk: one.sig_pk };
  add("safety number binds the uid (browser)", "safety_number", { a: one, b: sameKey }, number(one, sameKey));
}
