// Message envelopes and encrypted drafts (PROTOCOL.md §6, §7).
import { validateDescriptor } from "./attachments.js";
import { ensure } from "./errors.js";
import { b64decode, be16, be32, be64, compareBytes, concat, equal, isHexId, readBE16, readBE32, toHex, utf8 } from "./encoding.js";
import { parseStrictJson } from "./json.js";
import { encKeyPair, keyId } from "./keys.js";
import { pad, paddedLength, unpad } from "./padding.js";
import {
  AEAD_KEY,
  AEAD_NONCE,
  H256,
  H512,
  MAC,
  aeadDecrypt,
  aeadEncrypt,
  label,
  randomBytes,
  sign,
  verify,
} from "./primitives.js";
import { lib } from "./sodium.js";

export const SUITE = 0x01;
/** Envelope kinds and their magics. */
export const MAGIC = Object.freeze({ mail: "ISM1", draft: "ISD1", smtp: "ISS1" });
/** The SMTP gateway's fixed uid (§6.6): it signs SMTP-sealed mail and is never an entry. */
export const GATEWAY_UID = new Uint8Array(16);
/** §6.6: a 64 MiB raw message in base64url, padded. */
export const MAX_SMTP_CT_LEN = 128 * 1024 * 1024;
export const MAX_RECIPIENTS = 500;
export const ENTRY_BYTES = 144;
export const WRAP_BYTES = 96;
export const MIN_CT_LEN = 256 + 64 + 16;
/** The largest ciphertext (§6.1: "the largest message is 64 MiB"). */
export const MAX_CT_LEN = 64 * 1024 * 1024;
const HEAD = 79;
const TAIL = 32 + AEAD_NONCE + 4;
const SIGNATURE = 64;
const COMMIT_LABEL = label("ISEC-v1-key-commitment");
const SIG_LABEL = label("ISEC-v1-msg-sig\0");
const SMTP_SIG_LABEL = label("ISEC-v1-smtp-sig");
const MAGIC_BYTES = { mail: label(MAGIC.mail), draft: label(MAGIC.draft), smtp: label(MAGIC.smtp) };

/**
 * @typedef {object} Entry
 * @property {Uint8Array} uid 16 bytes
 * @property {Uint8Array} encKid H256(enc_pk)
 * @property {Uint8Array} wrap 96 bytes
 */

/**
 * @typedef {object} HeaderFields
 * @property {"mail"|"draft"} kind
 * @property {Uint8Array} msgId 16 bytes
 * @property {number} createdMs
 * @property {Uint8Array} senderUid
 * @property {Uint8Array} senderSigKid
 * @property {Entry[]} entries sorted by uid
 * @property {Uint8Array} keyCommit
 * @property {Uint8Array} nonce
 */

/**
 * @typedef {object} ParsedEnvelope
 * @property {"mail"|"draft"} kind
 * @property {Uint8Array} msgId
 * @property {number} createdMs informative only (may be imprecise above 2^53)
 * @property {Uint8Array} senderUid
 * @property {Uint8Array} senderSigKid
 * @property {Entry[]} entries
 * @property {Uint8Array} keyCommit
 * @property {Uint8Array} nonce
 * @property {Uint8Array} header HEADER, the associated data (offset 0 through nonce)
 * @property {Uint8Array} ciphertext
 */

/**
 * @typedef {object} Reader
 * @property {Uint8Array} uid
 * @property {{sk: Uint8Array, pk?: Uint8Array}[]} encKeys every encryption key, current and older
 */

/**
 * @typedef {object} OpenedMessage
 * @property {"mail"|"draft"} kind
 * @property {object} payload the validated payload (objects have a null prototype)
 * @property {Uint8Array} payloadBytes the exact signed payload bytes
 * @property {Uint8Array} msgId
 * @property {number} createdMs sender's clock, informative
 * @property {Uint8Array} senderUid
 * @property {Uint8Array[]} entryUids the uids the envelope is sealed to (sender included)
 */

/**
 * The key commitment MAC(CEK, "ISEC-v1-key-commitment" ‖ msg_id).
 * @param {Uint8Array} cek
 * @param {Uint8Array} msgId
 * @returns {Uint8Array}
 */
export function keyCommitment(cek, msgId) {
  return MAC(cek, concat(COMMIT_LABEL, msgId));
}

/**
 * The signed transcript "ISEC-v1-msg-sig\0" ‖ H512(HEADER) ‖ H512(padded).
 * @param {Uint8Array} header
 * @param {Uint8Array} padded
 * @returns {Uint8Array}
 */
export function signatureTranscript(header, padded) {
  const smtp = MAGIC_BYTES.smtp.every((b, i) => header[i] === b);
  return concat(smtp ? SMTP_SIG_LABEL : SIG_LABEL, H512(header), H512(padded));
}

/**
 * HEADER bytes from its fields (entries are written in the order given).
 * @param {HeaderFields} fields
 * @returns {Uint8Array}
 */
export function buildHeader({ kind, msgId, createdMs, senderUid, senderSigKid, entries, keyCommit, nonce }) {
  const parts = [MAGIC_BYTES[kind], Uint8Array.of(SUITE), msgId, be64(createdMs), senderUid, senderSigKid, be16(entries.length)];
  for (const { uid, encKid, wrap } of entries) {
    if (uid.length !== 16 || encKid.length !== 32 || wrap.length !== WRAP_BYTES) {
      throw new TypeError("malformed entry");
    }
    parts.push(uid, encKid, wrap);
  }
  parts.push(keyCommit, nonce);
  return concat(...parts);
}

/**
 * HEADER ‖ BE32(ct_len) ‖ ciphertext, encrypting `inner` (padded ‖ signature) under `cek`.
 * @param {Uint8Array} header
 * @param {Uint8Array} cek
 * @param {Uint8Array} inner
 * @returns {Uint8Array}
 */
export function encryptBody(header, cek, inner) {
  const nonce = header.subarray(header.length - AEAD_NONCE);
  const ciphertext = aeadEncrypt(cek, nonce, inner, header);
  return concat(header, be32(ciphertext.length), ciphertext);
}

/**
 * Order entries by uid, then enc_kid.
 * @param {Entry[]} entries
 * @returns {Entry[]}
 */
export function sortEntries(entries) {
  return [...entries].sort((a, b) => compareBytes(a.uid, b.uid) || compareBytes(a.encKid, b.encKid));
}

/**
 * SEAL(CEK ‖ msg_id, enc_pk): an entry for one recipient key.
 * @param {Uint8Array} uid
 * @param {Uint8Array} encPk
 * @param {Uint8Array} cek
 * @param {Uint8Array} msgId
 * @returns {Entry}
 */
export function makeEntry(uid, encPk, cek, msgId) {
  return { uid, encKid: keyId(encPk), wrap: lib().crypto_box_seal(concat(cek, msgId), encPk) };
}

/**
 * Low-level sealing with every input explicit and no payload validation (vectors and tests
 * build invalid messages with it; applications use sealMessage / sealDraft).
 * @param {object} o
 * @param {"mail"|"draft"} o.kind
 * @param {Uint8Array} o.senderUid
 * @param {Uint8Array} o.senderSigKid the key id written in the header
 * @param {Uint8Array} o.signSk the 64-byte Ed25519 secret key that signs
 * @param {{uid: Uint8Array, encPk: Uint8Array}[]} o.recipients every entry, sender's own copy included
 * @param {Uint8Array} [o.payloadBytes] the payload (padded with pad())
 * @param {Uint8Array} [o.padded] or the already padded bytes, used as they are
 * @param {Uint8Array} o.msgId
 * @param {number} o.createdMs
 * @param {Uint8Array} o.cek
 * @param {Uint8Array} o.nonce
 * @param {(recipient: {uid: Uint8Array, encPk: Uint8Array}) => Uint8Array|undefined} [o.cekFor]
 *   the CEK to wrap for a recipient (undefined: o.cek)
 * @param {boolean} [o.sorted] sort the entries (default true)
 * @returns {Uint8Array}
 */
export function sealEnvelope(o) {
  const padded = o.padded ?? pad(o.payloadBytes);
  let entries = o.recipients.map((r) => makeEntry(r.uid, r.encPk, o.cekFor?.(r) ?? o.cek, o.msgId));
  if (o.sorted !== false) {
    entries = sortEntries(entries);
  }
  const header = buildHeader({
    kind: o.kind,
    msgId: o.msgId,
    createdMs: o.createdMs,
    senderUid: o.senderUid,
    senderSigKid: o.senderSigKid,
    entries,
    keyCommit: keyCommitment(o.cek, o.msgId),
    nonce: o.nonce,
  });
  const signature = sign(o.signSk, signatureTranscript(header, padded));
  return encryptBody(header, o.cek, concat(padded, signature));
}

/**
 * §6.5 step 1 (`version`, `format`): split an envelope of the expected kind into its fields.
 * The magic is checked first, so a draft given as a message (or the reverse) is `version`;
 * the sender must have an entry (§6.1), otherwise `format`.
 * @param {Uint8Array} bytes
 * @param {"mail"|"draft"} kind
 * @returns {ParsedEnvelope}
 */
export function parseEnvelope(bytes, kind) {
  ensure(bytes instanceof Uint8Array && bytes.length >= 5, "format", "envelope too short");
  const magic = MAGIC_BYTES[kind];
  ensure(magic.every((b, i) => bytes[i] === b) && bytes[4] === SUITE, "version", "unknown magic or suite");
  ensure(bytes.length >= HEAD, "format", "envelope too short");
  const n = readBE16(bytes, 77);
  ensure(n >= 1 && n <= MAX_RECIPIENTS, "format", "number of entries out of bounds");
  ensure(kind !== "draft" || n === 1, "format", "a draft has exactly one entry");
  const tail = HEAD + ENTRY_BYTES * n;
  ensure(bytes.length >= tail + TAIL, "format", "envelope too short");
  const ctLen = readBE32(bytes, tail + 56);
  ensure(bytes.length === tail + TAIL + ctLen, "format", "total length does not match ct_len");
  const maxCt = kind === "smtp" ? MAX_SMTP_CT_LEN : MAX_CT_LEN;
  ensure(ctLen >= MIN_CT_LEN && ctLen <= maxCt, "format", "ciphertext too short or too long");
  const entries = [];
  for (let i = 0; i < n; i++) {
    const at = HEAD + ENTRY_BYTES * i;
    const entry = {
      uid: bytes.subarray(at, at + 16),
      encKid: bytes.subarray(at + 16, at + 48),
      wrap: bytes.subarray(at + 48, at + ENTRY_BYTES),
    };
    if (i > 0) {
      // Strictly increasing uids: sorted, and no uid twice.
      ensure(compareBytes(entries[i - 1].uid, entry.uid) < 0, "format", "entries not sorted or not unique");
    }
    entries.push(entry);
  }
  // §6.1: the sender appears exactly once (its own copy); §6.6: the gateway signs and has no entry.
  const senderUid = bytes.subarray(29, 45);
  if (kind === "smtp") {
    ensure(equal(senderUid, GATEWAY_UID), "format", "SMTP mail is signed by the gateway uid");
    ensure(!entries.some((e) => equal(e.uid, GATEWAY_UID)), "format", "the gateway has an entry");
  } else {
    ensure(entries.some((e) => equal(e.uid, senderUid)), "format", "the sender has no entry");
  }
  const high = readBE32(bytes, 21);
  return {
    kind,
    msgId: bytes.subarray(5, 21),
    createdMs: high * 2 ** 32 + readBE32(bytes, 25),
    senderUid,
    senderSigKid: bytes.subarray(45, 77),
    entries,
    keyCommit: bytes.subarray(tail, tail + 32),
    nonce: bytes.subarray(tail + 32, tail + 56),
    header: bytes.subarray(0, tail + 56),
    ciphertext: bytes.subarray(tail + TAIL),
  };
}

// --- payload (§6.2) ---------------------------------------------------------------------------

const PAYLOAD_MEMBERS = [
  "v", "type", "from", "to", "cc", "subject", "body", "date",
  "in_reply_to", "references", "handling", "attachments", "forwarded",
];
const PARTY_MEMBERS = ["uid", "name", "email"];
const FORWARD_MEMBERS = ["msg_id", "from", "date"];
const HANDLING = ["H0", "H1", "H2", "H3"];
export const MAX_SUBJECT = 1000;
export const MAX_NAME = 200;
export const MAX_EMAIL = 254;
export const MAX_PARTIES = 500;
export const MAX_REFERENCES = 100;
export const MAX_ATTACHMENTS = 100;

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function exactly(value, names, what) {
  ensure(isObject(value), "payload", `${what} is not an object`);
  const keys = Object.keys(value);
  ensure(keys.length === names.length && names.every((name) => Object.hasOwn(value, name)), "payload", `${what}: members`);
}

/**
 * True for an RFC 3339 UTC date-time such as "2026-11-28T09:00:00Z" (fractional seconds
 * allowed, "T" and "Z" upper-case, no other offset, no leap second).
 * @param {unknown} text
 * @returns {boolean}
 */
export function isUtcDateTime(text) {
  if (typeof text !== "string") {
    return false;
  }
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]{1,6})?Z$/.exec(text);
  if (m === null) {
    return false;
  }
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return month >= 1 && month <= 12 && day >= 1 && day <= days && hour <= 23 && minute <= 59 && second <= 59;
}

function party(value, what) {
  exactly(value, PARTY_MEMBERS, what);
  ensure(isHexId(value.uid), "payload", `${what}.uid`);
  ensure(
    typeof value.name === "string" && [...value.name].length <= MAX_NAME &&
      typeof value.email === "string" && [...value.email].length <= MAX_EMAIL,
    "payload",
    `${what} name or email`,
  );
  return value;
}

function list(value, what, max = Infinity) {
  ensure(Array.isArray(value) && value.length <= max, "payload", `${what} is not a list or too long`);
  return value;
}

/**
 * §6.5 step 9 (`payload`): every member present with its type and bounds, no others;
 * from.uid is the header's sender; for mail, the uids of to ∪ cc ∪ {from} are exactly the
 * entry uids.
 * @param {unknown} payload a strictly parsed JSON value
 * @param {object} header
 * @param {"mail"|"draft"} header.kind
 * @param {Uint8Array} header.senderUid
 * @param {Uint8Array[]} header.entryUids
 * @returns {object} the payload
 */
export function validatePayload(payload, { kind, senderUid, entryUids }) {
  if (kind === "smtp") {
    return validateSmtpPayload(payload);
  }
  exactly(payload, PAYLOAD_MEMBERS, "payload");
  const p = /** @type {Record<string, any>} */ (payload);
  ensure(p.v === 1, "payload", "v");
  ensure(p.type === kind, "payload", "type does not match the envelope");
  party(p.from, "from");
  const to = list(p.to, "to", MAX_PARTIES).map((x) => party(x, "to[]"));
  const cc = list(p.cc, "cc", MAX_PARTIES).map((x) => party(x, "cc[]"));
  ensure(typeof p.subject === "string" && [...p.subject].length <= MAX_SUBJECT, "payload", "subject");
  ensure(typeof p.body === "string", "payload", "body");
  ensure(isUtcDateTime(p.date), "payload", "date");
  ensure(p.in_reply_to === null || isHexId(p.in_reply_to), "payload", "in_reply_to");
  ensure(list(p.references, "references", MAX_REFERENCES).every(isHexId), "payload", "references");
  ensure(HANDLING.includes(p.handling), "payload", "handling");
  list(p.attachments, "attachments", MAX_ATTACHMENTS).forEach((d) => validateDescriptor(d, "payload"));
  for (const f of list(p.forwarded, "forwarded", MAX_REFERENCES)) {
    exactly(f, FORWARD_MEMBERS, "forwarded[]");
    ensure(isHexId(f.msg_id) && isHexId(f.from) && isUtcDateTime(f.date), "payload", "forwarded[]");
  }
  ensure(p.from.uid === toHex(senderUid), "payload", "from.uid is not the sender");
  if (kind === "mail") {
    const named = new Set([p.from.uid, ...to.map((x) => x.uid), ...cc.map((x) => x.uid)]);
    const sealed = new Set(entryUids.map(toHex));
    ensure(named.size === sealed.size && [...named].every((uid) => sealed.has(uid)), "payload", "recipient set");
  }
  return payload;
}

const SMTP_MEMBERS = ["v", "type", "smtp_from", "smtp_to", "received", "raw"];

/**
 * §6.6: mail the gateway received over SMTP. `raw` is the original message, base64url.
 * @param {unknown} payload
 * @returns {object}
 */
function validateSmtpPayload(payload) {
  exactly(payload, SMTP_MEMBERS, "payload");
  const p = /** @type {Record<string, any>} */ (payload);
  ensure(p.v === 1 && p.type === "smtp", "payload", "type does not match the envelope");
  const address = (x) => typeof x === "string" && [...x].length <= MAX_EMAIL;
  ensure(address(p.smtp_from), "payload", "smtp_from");
  const to = list(p.smtp_to, "smtp_to", MAX_PARTIES);
  ensure(to.length >= 1 && to.every((x) => address(x) && x.length > 0), "payload", "smtp_to");
  ensure(isUtcDateTime(p.received), "payload", "received");
  try {
    b64decode(p.raw);
  } catch {
    ensure(false, "payload", "raw");
  }
  return payload;
}

// --- opening (§6.5) ---------------------------------------------------------------------------

function readerKeys(reader) {
  return reader.encKeys.map((k) => (k.pk && k.kid ? k : encKeyPair({ created: k.created ?? 0, sk: k.sk })));
}

function open(bytes, kind, reader, senderSigPk) {
  // 1. format (and version)
  const env = parseEnvelope(bytes, kind);
  // 2. recipient (for a draft the single entry, and so the sender, must be the reader)
  if (kind === "draft") {
    ensure(equal(env.entries[0].uid, reader.uid) && equal(env.senderUid, reader.uid), "recipient", "draft of someone else");
  }
  const entry = env.entries.find((e) => equal(e.uid, reader.uid));
  ensure(entry !== undefined, "recipient", "not among the entries");
  const key = readerKeys(reader).find((k) => equal(k.kid, entry.encKid));
  ensure(key !== undefined, "recipient", "entry is for a key the reader does not hold");
  // 3. unwrap
  let unwrapped = null;
  try {
    unwrapped = lib().crypto_box_seal_open(entry.wrap, key.pk, key.sk);
  } catch {
    unwrapped = null;
  }
  ensure(
    unwrapped !== null && unwrapped.length === AEAD_KEY + 16 && equal(unwrapped.subarray(AEAD_KEY), env.msgId),
    "unwrap",
    "wrap does not open or names another message",
  );
  const cek = unwrapped.slice(0, AEAD_KEY);
  // 4. commitment
  ensure(equal(keyCommitment(cek, env.msgId), env.keyCommit), "commitment", "content key is not the committed one");
  // 5. decrypt
  const inner = aeadDecrypt(cek, env.nonce, env.ciphertext, env.header);
  // 6. padding
  ensure(inner.length >= SIGNATURE, "padding", "inner too short");
  const padded = inner.subarray(0, inner.length - SIGNATURE);
  const signature = inner.subarray(inner.length - SIGNATURE);
  const payloadBytes = unpad(padded);
  // 7. sender_key
  ensure(
    senderSigPk instanceof Uint8Array && senderSigPk.length === 32 && equal(H256(senderSigPk), env.senderSigKid),
    "sender_key",
    "the supplied sender key is not the one in the header",
  );
  // 8. signature
  ensure(verify(senderSigPk, signatureTranscript(env.header, padded), signature), "signature", "bad signature");
  // 9. payload
  const entryUids = env.entries.map((e) => e.uid.slice());
  const payload = validatePayload(parseStrictJson(payloadBytes, "payload"), { kind, senderUid: env.senderUid, entryUids });
  return {
    kind,
    payload,
    payloadBytes: payloadBytes.slice(),
    msgId: env.msgId.slice(),
    createdMs: env.createdMs,
    senderUid: env.senderUid.slice(),
    entryUids,
  };
}

/**
 * Open a message envelope ("ISM1") with the checks of §6.5, in order. Throws a CryptoError
 * naming the first failed check; returns nothing before all of them passed.
 * @param {Uint8Array} envelope
 * @param {Reader} reader the reader's uid and encryption keys
 * @param {Uint8Array} senderSigPk the sender's verified Ed25519 public key
 * @returns {OpenedMessage}
 */
export function openMessage(envelope, reader, senderSigPk) {
  return open(envelope, "mail", reader, senderSigPk);
}

/**
 * Open mail that arrived over SMTP ("ISS1", §6.6), signed by the gateway. Readers show it
 * flagged "arrived by SMTP — not end-to-end encrypted" with `payload.smtp_from`;
 * `b64decode(payload.raw)` is the original message.
 * @param {Uint8Array} envelope
 * @param {Reader} reader
 * @param {Uint8Array} gatewaySigPk the gateway key, verified against the pinned root (§6.6)
 * @returns {OpenedMessage}
 */
export function openSmtp(envelope, reader, gatewaySigPk) {
  return open(envelope, "smtp", reader, gatewaySigPk);
}

/**
 * Open an encrypted draft ("ISD1", §7): the single entry and the sender must be the reader.
 * @param {Uint8Array} envelope
 * @param {Reader} reader
 * @param {Uint8Array} authorSigPk the reader's own Ed25519 public key
 * @returns {OpenedMessage}
 */
export function openDraft(envelope, reader, authorSigPk) {
  return open(envelope, "draft", reader, authorSigPk);
}

// --- sealing -------------------------------------------------------------------------------------

/**
 * @typedef {object} Sender
 * @property {Uint8Array} uid
 * @property {Uint8Array} sigSk 64-byte Ed25519 secret key
 * @property {Uint8Array} sigPk
 */

function payloadBytesOf(payload, kind, senderUid, entryUids) {
  const bytes = payload instanceof Uint8Array ? payload : utf8(JSON.stringify(payload));
  validatePayload(parseStrictJson(bytes, "payload"), { kind, senderUid, entryUids });
  if (paddedLength(bytes.length) + SIGNATURE + 16 > MAX_CT_LEN) {
    throw new RangeError("the message is larger than 64 MiB once padded");
  }
  return bytes;
}

function checkRecipients(recipients, senderUid) {
  if (recipients.length < 1 || recipients.length > MAX_RECIPIENTS) {
    throw new RangeError(`1 to ${MAX_RECIPIENTS} entries`);
  }
  const uids = new Set(recipients.map((r) => toHex(r.uid)));
  if (uids.size !== recipients.length || !uids.has(toHex(senderUid))) {
    throw new RangeError("every uid once, the sender's own copy included");
  }
}

/**
 * Seal a message (§6.1). The payload is validated as a reader would (a CryptoError `payload`
 * otherwise); `recipients` are all entries, the sender's own copy included.
 * @param {object} o
 * @param {object|Uint8Array} o.payload the payload object, or its exact UTF-8 JSON bytes
 * @param {Sender} o.sender
 * @param {{uid: Uint8Array, encPk: Uint8Array}[]} o.recipients
 * @param {number} [o.createdMs] default Date.now()
 * @param {(n: number) => Uint8Array} [o.random] randomness for msg_id, CEK and nonce (tests only)
 * @returns {Uint8Array}
 */
export function sealMessage({ payload, sender, recipients, createdMs = Date.now(), random = randomBytes }) {
  checkRecipients(recipients, sender.uid);
  const payloadBytes = payloadBytesOf(payload, "mail", sender.uid, recipients.map((r) => r.uid));
  return sealEnvelope({
    kind: "mail",
    senderUid: sender.uid,
    senderSigKid: keyId(sender.sigPk),
    signSk: sender.sigSk,
    recipients,
    payloadBytes,
    msgId: random(16),
    cek: random(AEAD_KEY),
    nonce: random(AEAD_NONCE),
    createdMs,
  });
}

/**
 * Seal a draft (§7) to its author's current encryption key.
 * @param {object} o
 * @param {object|Uint8Array} o.payload with type "draft"
 * @param {Sender & {encPk: Uint8Array}} o.author
 * @param {number} [o.createdMs]
 * @param {(n: number) => Uint8Array} [o.random]
 * @returns {Uint8Array}
 */
export function sealDraft({ payload, author, createdMs = Date.now(), random = randomBytes }) {
  const payloadBytes = payloadBytesOf(payload, "draft", author.uid, [author.uid]);
  return sealEnvelope({
    kind: "draft",
    senderUid: author.uid,
    senderSigKid: keyId(author.sigPk),
    signSk: author.sigSk,
    recipients: [{ uid: author.uid, encPk: author.encPk }],
    payloadBytes,
    msgId: random(16),
    cek: random(AEAD_KEY),
    nonce: random(AEAD_NONCE),
    createdMs,
  });
}

