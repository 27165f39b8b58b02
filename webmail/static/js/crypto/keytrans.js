// Key statements, approvals, certificates, revocations, log leaves and checkpoints
// (docs/PROTOCOL.md §9), byte-identical to isecom/crypto/keytrans.py: the strict parsers, the
// history rules of §9.8, the look-up checks of §9.10 and the safety numbers of §9.9.
//
// Every object is body ‖ SIGN(signer, body) where body starts with its own ASCII tag. A parser
// checks, in order, `version` (tag, suite, kind), `format` (exact lengths, no trailing bytes,
// NFC text) and then `signature`, and throws CryptoError naming the first failed check.
import { CryptoError, ensure } from "./errors.js";
import { be32, be64, concat, equal, lp, readBE32, readBE64, toHex, utf8, utf8Decode } from "./encoding.js";
import { leafHash, verifyConsistency, verifyInclusion } from "./merkle.js";
import { H256, sign, verify } from "./primitives.js";
import { lib } from "./sodium.js";

export const SUITE = 0x01;
export const KS_TAG = utf8("ISEC-keys-v1");
export const APPROVAL_TAG = utf8("ISEC-approval-v1");
export const CERT_TAG = utf8("ISEC-cert-v1");
export const REVOKE_TAG = utf8("ISEC-revoke-v1");
export const LOGKEY_TAG = utf8("ISEC-logkey-v1");
export const LEAF_TAG = utf8("ISEC-leaf-v1");
export const CHECKPOINT_TAG = utf8("ISEC-checkpoint-v1");
export const ZERO32 = new Uint8Array(32);
export const SAFETY_ITERATIONS = 5200;
const MAX_TEXT = 320;
const MAX_OBJECT = 4096;

/** What a log leaf holds (§9.7). */
export const Kind = Object.freeze({ KEYS: 1, APPROVAL: 2, CERT: 3, REVOKE: 4, LOGKEY: 5 });
/** Approval kinds (§9.3): version 1 knows the platform's only. */
export const APPROVAL_PLATFORM = 1;
/** Decisions signed in the approvers' browsers (§9.3). */
export const APPROVAL_NOMINATION = 2;
export const APPROVAL_AUTHORIZATION = 3;
/** Certificate roles (§9.4). */
export const CertRole = Object.freeze({ AGENCY_HEAD: 1, NCB_HEAD: 2 });
/** Who revoked (§9.5). */
export const RevokedBy = Object.freeze({ SELF: 1, NCB_HEAD: 2, PLATFORM: 3 });

// --- writing ---------------------------------------------------------------------------------

/**
 * lp(NFC UTF-8) of a text field (§9.1).
 * @param {string} value
 * @returns {Uint8Array}
 */
export function textField(value) {
  const raw = utf8(value.normalize("NFC"));
  if (raw.length > MAX_TEXT) {
    throw new RangeError("text field too long");
  }
  return lp(raw);
}

/**
 * A key statement (§9.2): body ‖ SIGN(sig_sk, body), the self-signature proving possession.
 * @param {{sigSk: Uint8Array, sigPk: Uint8Array, uid: Uint8Array, email: string, seqno: number,
 *          prev: Uint8Array, encPk: Uint8Array, created: number}} fields
 * @returns {Uint8Array}
 */
export function keyStatement({ sigSk, sigPk, uid, email, seqno, prev, encPk, created }) {
  const body = concat(KS_TAG, Uint8Array.of(SUITE), uid, textField(email), be32(seqno), prev, sigPk, encPk, be64(created));
  return concat(body, sign(sigSk, body));
}

/** H256 of a signed object (a key statement's hash names it in `prev` and in revocations). */
export function objectHash(obj) {
  return H256(obj);
}

// --- reading ---------------------------------------------------------------------------------

function startsWith(data, tag) {
  if (data.length < tag.length) {
    return false;
  }
  for (let i = 0; i < tag.length; i++) {
    if (data[i] !== tag[i]) {
      return false;
    }
  }
  return true;
}

class Reader {
  constructor(data, tag) {
    ensure(startsWith(data, tag), "version", "unknown tag");
    this.data = data;
    this.pos = tag.length;
  }

  take(n) {
    ensure(this.pos + n <= this.data.length, "format", "object too short");
    const out = this.data.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  num(n) {
    const raw = this.take(n);
    if (n === 1) {
      return raw[0];
    }
    return n === 4 ? readBE32(raw, 0) : readBE64(raw, 0);
  }

  lp(limit = MAX_OBJECT) {
    const n = this.num(4);
    ensure(n <= limit, "format", "field too long");
    return this.take(n);
  }

  text() {
    const value = utf8Decode(this.lp(MAX_TEXT), "format");
    ensure(value.normalize("NFC") === value, "format", "text is not NFC");
    return value;
  }

  country() {
    const raw = this.take(2);
    ensure(
      raw.every((c) => c >= 0x41 && c <= 0x5a),
      "format",
      "country is not two upper-case letters",
    );
    return String.fromCharCode(raw[0], raw[1]);
  }

  end() {
    ensure(this.pos === this.data.length, "format", "trailing bytes");
  }
}

/** The body before the signature (or the whole object when it is too short to hold one). */
function bodyOf(obj) {
  return obj.length >= 64 ? obj.subarray(0, obj.length - 64) : obj;
}

/** Check that the last 64 bytes of obj are pk's signature over the rest. */
function verified(obj, pk) {
  ensure(obj.length >= 64 && pk.length === 32, "format", "no signature or bad key length");
  const body = obj.subarray(0, obj.length - 64);
  ensure(verify(pk, body, obj.subarray(obj.length - 64)), "signature", "signature does not verify");
}

function bytes(value) {
  ensure(value instanceof Uint8Array, "format", "not bytes");
  return value;
}

/**
 * Parse a key statement and check its self-signature (§9.2).
 * @param {Uint8Array} obj
 * @returns {{uid: Uint8Array, email: string, seqno: number, prev: Uint8Array, sigPk: Uint8Array,
 *            encPk: Uint8Array, created: number, raw: Uint8Array, hash: Uint8Array}}
 */
export function parseKeyStatement(obj) {
  const r = new Reader(bodyOf(bytes(obj)), KS_TAG);
  ensure(r.num(1) === SUITE, "version", "unknown suite");
  const uid = r.take(16);
  const email = r.text();
  const seqno = r.num(4);
  const prev = r.take(32);
  const sigPk = r.take(32);
  const encPk = r.take(32);
  const created = r.num(8);
  r.end();
  ensure((seqno === 0) === equal(prev, ZERO32), "format", "prev must be zero exactly for seqno 0");
  verified(obj, sigPk);
  return { uid, email, seqno, prev, sigPk, encPk, created, raw: obj, hash: H256(obj) };
}

/**
 * Parse a platform approval and check the root's signature (§9.3).
 * @param {Uint8Array} obj
 * @param {Uint8Array} rootPk
 */
export function parseApproval(obj, rootPk) {
  const r = new Reader(bodyOf(bytes(obj)), APPROVAL_TAG);
  const kind = r.num(1);
  ensure(kind === APPROVAL_PLATFORM, "version", "unknown approval kind");
  const uid = r.take(16);
  const email = r.text();
  const name = r.text();
  const country = r.country();
  const agency = r.text();
  const notAfter = r.num(8);
  const made = r.num(8);
  r.end();
  verified(obj, rootPk);
  return { kind, uid, email, name, country, agency, notAfter, made, raw: obj, hash: H256(obj) };
}

/**
 * The kind byte of an approval (§9.3), checked.
 * @param {Uint8Array} obj
 * @returns {number}
 */
export function approvalKind(obj) {
  ensure(startsWith(bytes(obj), APPROVAL_TAG) && obj.length > APPROVAL_TAG.length, "version", "not an approval");
  const kind = obj[APPROVAL_TAG.length];
  ensure(kind >= APPROVAL_PLATFORM && kind <= APPROVAL_AUTHORIZATION, "version", "unknown approval kind");
  return kind;
}

/**
 * An agency head's nomination, signed with their key (§9.3).
 * @param {{sigSk: Uint8Array, uid: Uint8Array, email: string, name: string, country: string, agency: string,
 *          signerCert: Uint8Array, signerCertIdx: number, made: number}} fields
 * @returns {Uint8Array}
 */
export function nomination({ sigSk, uid, email, name, country, agency, signerCert, signerCertIdx, made }) {
  const body = concat(
    APPROVAL_TAG,
    Uint8Array.of(APPROVAL_NOMINATION),
    uid,
    textField(email),
    textField(name),
    countryField(country),
    textField(agency),
    signerCert,
    be64(signerCertIdx),
    be64(made),
  );
  return concat(body, sign(sigSk, body));
}

/**
 * An NCB head's authorization of a nomination, with the end of the membership (§9.3).
 * @param {{sigSk: Uint8Array, uid: Uint8Array, nominationHash: Uint8Array, notAfter: number,
 *          signerCert: Uint8Array, signerCertIdx: number, made: number}} fields
 * @returns {Uint8Array}
 */
export function authorization({ sigSk, uid, nominationHash, notAfter, signerCert, signerCertIdx, made }) {
  const body = concat(
    APPROVAL_TAG,
    Uint8Array.of(APPROVAL_AUTHORIZATION),
    uid,
    nominationHash,
    be64(notAfter),
    signerCert,
    be64(signerCertIdx),
    be64(made),
  );
  return concat(body, sign(sigSk, body));
}

/**
 * Parse a nomination or an authorization; its signature is checked against the approver's
 * certificate by checkHistory (§9.8).
 * @param {Uint8Array} obj
 */
export function parseDecision(obj) {
  const r = new Reader(bodyOf(bytes(obj)), APPROVAL_TAG);
  const kind = r.num(1);
  const uid = r.take(16);
  const out = { kind, uid, raw: obj, hash: H256(obj) };
  if (kind === APPROVAL_NOMINATION) {
    Object.assign(out, { email: r.text(), name: r.text(), country: r.country(), agency: r.text() });
  } else if (kind === APPROVAL_AUTHORIZATION) {
    Object.assign(out, { nomination: r.take(32), notAfter: r.num(8) });
  } else {
    throw new CryptoError("version", "not a decision");
  }
  out.signerCert = r.take(32);
  out.signerCertIdx = r.num(8);
  out.made = r.num(8);
  r.end();
  return out;
}

function countryField(code) {
  ensure(/^[A-Z]{2}$/.test(code), "format", "country must be an ISO 3166 alpha-2 code");
  return utf8(code);
}

/**
 * Parse an approver certificate and check the root's signature (§9.4).
 * @param {Uint8Array} obj
 * @param {Uint8Array} rootPk
 */
export function parseCertificate(obj, rootPk) {
  const r = new Reader(bodyOf(bytes(obj)), CERT_TAG);
  const role = r.num(1);
  ensure(role === CertRole.AGENCY_HEAD || role === CertRole.NCB_HEAD, "format", "unknown role");
  const uid = r.take(16);
  const email = r.text();
  const name = r.text();
  const country = r.country();
  const agency = r.text();
  const sigPk = r.take(32);
  const notAfter = r.num(8);
  const made = r.num(8);
  r.end();
  verified(obj, rootPk);
  return { role, uid, email, name, country, agency, sigPk, notAfter, made, raw: obj, hash: H256(obj) };
}

/**
 * A revocation of the key statement whose hash is `ksHash` (§9.5): by the member (SELF, no
 * certificate) or by an NCB head of the member's country (naming their certificate).
 * @param {{signerSk: Uint8Array, signerPk: Uint8Array, uid: Uint8Array, ksHash: Uint8Array, effective: number,
 *          by: number, made: number, signerCert?: Uint8Array, signerCertIdx?: number}} fields
 * @returns {Uint8Array}
 */
export function revocation({ signerSk, signerPk, uid, ksHash, effective, by, made, signerCert = ZERO32, signerCertIdx = 0 }) {
  const body = concat(
    REVOKE_TAG,
    uid,
    ksHash,
    be64(effective),
    Uint8Array.of(by),
    signerPk,
    signerCert,
    be64(signerCertIdx),
    be64(made),
  );
  return concat(body, sign(signerSk, body));
}

/**
 * Parse a revocation and check the signature by its signer_pk (§9.5); whether that signer may
 * revoke is checkHistory's rule.
 * @param {Uint8Array} obj
 */
export function parseRevocation(obj) {
  const r = new Reader(bodyOf(bytes(obj)), REVOKE_TAG);
  const uid = r.take(16);
  const ksHash = r.take(32);
  const effective = r.num(8);
  const by = r.num(1);
  ensure(by >= RevokedBy.SELF && by <= RevokedBy.PLATFORM, "format", "unknown revoker");
  const signerPk = r.take(32);
  const signerCert = r.take(32);
  const signerCertIdx = r.num(8);
  const made = r.num(8);
  r.end();
  const namesCert = !(equal(signerCert, ZERO32) && signerCertIdx === 0);
  ensure((by === RevokedBy.NCB_HEAD) === namesCert, "format", "a certificate is named exactly when an NCB head revokes");
  verified(obj, signerPk);
  return { uid, ksHash, effective, by, signerPk, signerCert, signerCertIdx, made, raw: obj };
}

/**
 * Parse the log key certificate and check the root's signature (§9.6).
 * @param {Uint8Array} obj
 * @param {Uint8Array} rootPk
 */
export function parseLogKey(obj, rootPk) {
  const r = new Reader(bodyOf(bytes(obj)), LOGKEY_TAG);
  const origin = r.text();
  const logPk = r.take(32);
  const made = r.num(8);
  r.end();
  verified(obj, rootPk);
  return { origin, logPk, made, raw: obj };
}

export const GATEWAY_TAG = utf8("ISEC-gateway-v1");

/**
 * The SMTP gateway's signing key from its certificate, signed by the log key (PROTOCOL.md §6.6):
 * "ISEC-gateway-v1" ‖ text(origin) ‖ gateway_pk ‖ SIGN(log_sk, …).
 * @param {Uint8Array} obj
 * @param {Uint8Array} logPk the log key, itself verified against the pinned root (parseLogKey)
 * @param {string} origin this instance's origin
 * @returns {Uint8Array} the gateway's Ed25519 public key
 */
export function parseGatewayCertificate(obj, logPk, origin) {
  ensure(bytes(obj).length >= 64, "format", "object too short");
  const r = new Reader(bodyOf(obj), GATEWAY_TAG);
  const found = r.text();
  const gatewayPk = r.take(32);
  r.end();
  verified(obj, logPk);
  ensure(found === origin, "log", "the gateway certificate is for another origin");
  return gatewayPk;
}

/**
 * Parse a log leaf (§9.7); the object inside is parsed by checkHistory.
 * @param {Uint8Array} data
 */
export function parseLeaf(data) {
  const r = new Reader(bytes(data), LEAF_TAG);
  const kind = r.num(1);
  ensure(kind >= Kind.KEYS && kind <= Kind.LOGKEY, "format", "unknown leaf kind");
  const uid = r.take(16);
  const logged = r.num(8);
  const obj = r.lp();
  r.end();
  return { kind, uid, logged, obj, raw: data };
}

/**
 * Parse a checkpoint and check the log key's signature (§9.7).
 * @param {Uint8Array} obj
 * @param {Uint8Array} logPk
 */
export function parseCheckpoint(obj, logPk) {
  const r = new Reader(bodyOf(bytes(obj)), CHECKPOINT_TAG);
  const origin = r.text();
  const size = r.num(8);
  const root = r.take(32);
  const time = r.num(8);
  r.end();
  verified(obj, logPk);
  return { origin, size, root, time, raw: obj };
}

// --- safety numbers (§9.9) -------------------------------------------------------------------

/**
 * 30 digits for one member: SHA-512 iterated 5200 times, 6 groups of 5 bytes mod 100000.
 * @param {Uint8Array} uid
 * @param {Uint8Array} sigPk
 * @returns {string}
 */
export function fingerprint(uid, sigPk) {
  const sodium = lib();
  let h = concat(Uint8Array.of(0, 0), sigPk, uid);
  for (let i = 0; i < SAFETY_ITERATIONS; i++) {
    h = sodium.crypto_hash_sha512(concat(h, sigPk));
  }
  let out = "";
  for (let i = 0; i < 30; i += 5) {
    const value = h[i] * 2 ** 32 + readBE32(h, i + 1);
    out += String(value % 100000).padStart(5, "0");
  }
  return out;
}

/**
 * 60 digits for a pair of members: both fingerprints, the smaller first (the same on both sides).
 * @param {[Uint8Array, Uint8Array]} a (uid, sig_pk)
 * @param {[Uint8Array, Uint8Array]} b (uid, sig_pk)
 * @returns {string}
 */
export function safetyNumber(a, b) {
  const [one, two] = [fingerprint(...a), fingerprint(...b)].sort();
  return one + two;
}

/**
 * A safety number in groups of 5 digits (12 for a pair), as people read it aloud.
 * @param {string} digits
 * @returns {string[]}
 */
export function digitGroups(digits) {
  return digits.match(/\d{5}/g) ?? [];
}

// --- a member's history (§9.8) ---------------------------------------------------------------

/**
 * Apply §9.8 to every leaf about `uid`, in log order; throw CryptoError at the first broken rule.
 * A revocation of the current statement is returned (not thrown) so the caller can say why it
 * refuses to encrypt.
 * @param {Uint8Array} uid
 * @param {Array<[number, ReturnType<typeof parseLeaf>]>} leaves (index, leaf) in log order
 * @param {Uint8Array} rootPk
 * @returns {{uid: Uint8Array, keys: object, approval: object, certificates: object[], revoked: object|null,
 *            usable: (now: number) => boolean}}
 */
/** The certificate a decision names, checked: at that index, with that hash, valid then, signing it. */
function approverOf(decision, approvers) {
  const cert = approvers.get(decision.signerCertIdx);
  ensure(
    cert !== undefined && equal(cert.hash, decision.signerCert) && decision.made <= cert.notAfter,
    "chain",
    "the decision's approver certificate is missing or does not match",
  );
  verified(decision.raw, cert.sigPk);
  return cert;
}

export function checkHistory(uid, leaves, rootPk, approvers = new Map()) {
  const nominations = new Map();
  let approval = null;
  let approvalIdx = -1;
  let current = null;
  let currentIdx = -1;
  const certs = [];
  let revoked = null;
  let last = -1;
  for (const [index, item] of leaves) {
    ensure(Number.isSafeInteger(index) && index > last && equal(item.uid, uid), "format", "leaves out of order");
    last = index;
    if (item.kind === Kind.APPROVAL) {
      let found;
      if (approvalKind(item.obj) === APPROVAL_PLATFORM) {
        found = parseApproval(item.obj, rootPk);
      } else {
        const decision = parseDecision(item.obj);
        const signer = approverOf(decision, approvers);
        ensure(equal(decision.uid, uid), "chain", "decision about another member");
        if (decision.kind === APPROVAL_NOMINATION) {
          ensure(
            signer.role === CertRole.AGENCY_HEAD &&
              signer.country === decision.country &&
              signer.agency.toLowerCase() === decision.agency.toLowerCase(),
            "chain",
            "nominated by someone who is not a certified head of the applicant's agency",
          );
          nominations.set(toHex(decision.hash), [decision, signer]);
          continue;
        }
        const named = nominations.get(toHex(decision.nomination));
        ensure(named !== undefined, "chain", "authorization of an unknown nomination");
        const [nom, nominator] = named;
        ensure(
          signer.role === CertRole.NCB_HEAD && signer.country === nom.country && !equal(signer.uid, nominator.uid),
          "chain",
          "authorized by someone who is not a certified NCB head of the country, or by the nominator",
        );
        found = {
          kind: APPROVAL_AUTHORIZATION,
          uid: decision.uid,
          email: nom.email,
          name: nom.name,
          country: nom.country,
          agency: nom.agency,
          notAfter: decision.notAfter,
          made: decision.made,
          raw: decision.raw,
          hash: decision.hash,
        };
      }
      ensure(equal(found.uid, uid), "chain", "approval for another member");
      approval = found;
      approvalIdx = index;
    } else if (item.kind === Kind.CERT) {
      const cert = parseCertificate(item.obj, rootPk);
      ensure(equal(cert.uid, uid), "chain", "certificate for another member");
      certs.push(cert);
    } else if (item.kind === Kind.KEYS) {
      const ks = parseKeyStatement(item.obj);
      ensure(
        equal(ks.uid, uid) && approval !== null && ks.email === approval.email,
        "chain",
        "key statement without an approval for this member and address",
      );
      if (current === null) {
        ensure(ks.seqno === 0, "chain", "the first key statement must have seqno 0");
      } else {
        ensure(
          ks.seqno === current.seqno + 1 &&
            equal(ks.prev, current.hash) &&
            !(!equal(ks.sigPk, current.sigPk) && approvalIdx < currentIdx),
          "chain",
          "broken statement chain or a new signing key without a new approval",
        );
      }
      current = ks;
      currentIdx = index;
      revoked = null;
    } else if (item.kind === Kind.REVOKE) {
      const rev = parseRevocation(item.obj);
      ensure(current !== null && equal(rev.uid, uid) && equal(rev.ksHash, current.hash), "chain", "revocation of another statement");
      if (rev.by === RevokedBy.SELF) {
        ensure(equal(rev.signerPk, current.sigPk), "chain", "self-revocation by another key");
      } else if (rev.by === RevokedBy.PLATFORM) {
        ensure(equal(rev.signerPk, rootPk), "chain", "platform revocation by another key");
      } else {
        const head = approvers.get(rev.signerCertIdx);
        ensure(
          head !== undefined &&
            equal(head.hash, rev.signerCert) &&
            head.role === CertRole.NCB_HEAD &&
            approval !== null &&
            head.country === approval.country &&
            equal(head.sigPk, rev.signerPk) &&
            rev.made <= head.notAfter,
          "chain",
          "revoked by someone who is not a certified NCB head of the member's country",
        );
      }
      revoked = rev;
    } else {
      throw new CryptoError("format", "a log key certificate in a member's history");
    }
  }
  ensure(current !== null && approval !== null, "chain", "no approved key statement");
  const keys = current;
  const until = approval.notAfter;
  return {
    uid,
    keys,
    approval,
    certificates: certs.filter((c) => equal(c.sigPk, keys.sigPk)),
    revoked,
    usable: (now) => revoked === null && now <= until,
  };
}

// --- what a client checks on every look-up (§9.10) ------------------------------------------

/**
 * Check a look-up answer: log key under the root and for this origin, checkpoint under the log
 * key and for this origin (`log`), every inclusion proof (`proof`), then the history rules.
 * @param {{rootPk: Uint8Array, origin: string, logKey: Uint8Array, checkpoint: Uint8Array,
 *          uid: Uint8Array, entries: Array<[number, Uint8Array, Uint8Array[]]>}} answer
 * @returns {{verified: ReturnType<typeof checkHistory>, checkpoint: ReturnType<typeof parseCheckpoint>,
 *            logKey: ReturnType<typeof parseLogKey>}}
 */
export function verifyResponse({ rootPk, origin, logKey, checkpoint, uid, entries }) {
  const lk = parseLogKey(logKey, rootPk);
  ensure(lk.origin === origin, "log", "the log key names another origin");
  const cp = parseCheckpoint(checkpoint, lk.logPk);
  ensure(cp.origin === origin, "log", "the checkpoint names another origin");
  const leaves = [];
  const approvers = new Map();
  for (const [index, data, proof] of entries) {
    ensure(verifyInclusion(leafHash(data), index, cp.size, proof, cp.root), "proof", "inclusion proof fails");
    const item = parseLeaf(data);
    if (equal(item.uid, uid)) {
      leaves.push([index, item]);
    } else {
      // An approver's certificate, named by one of the member's decisions.
      ensure(item.kind === Kind.CERT, "format", "a leaf about another member");
      approvers.set(index, parseCertificate(item.obj, rootPk));
    }
  }
  return { verified: checkHistory(uid, leaves, rootPk, approvers), checkpoint: cp, logKey: lk };
}

/**
 * Accept checkpoint `next` after `old` only if the log grew consistently (no fork, no rollback).
 * @param {{size: number, root: Uint8Array}|null} old
 * @param {{size: number, root: Uint8Array}} next
 * @param {Uint8Array[]} proof
 */
export function checkProgress(old, next, proof) {
  if (old === null || old === undefined) {
    return;
  }
  ensure(next.size >= old.size, "log", "the log went back");
  ensure(verifyConsistency(old.size, next.size, old.root, next.root, proof), "log", "the log forked");
}
