// Cross-implementation test vectors (PROTOCOL.md §11, tests/vectors/README.md):
// generateVectors(seed) makes a document, checkVectors(doc) checks one.
import { chunkAd, chunkHash, descriptorJson, encryptFile, manifestRoot, openChunk, openFile } from "./attachments.js";
import {
  buildHeader,
  encryptBody,
  makeEntry,
  openDraft,
  openMessage,
  openSmtp,
  parseEnvelope,
  sealEnvelope,
  sortEntries,
} from "./envelope.js";
import { CryptoError } from "./errors.js";
import { KT_KINDS, generateKtCases, runKtCase } from "./ktvectors.js";
import { b64decode, b64encode, be64, concat, equal, toHex, uidFromHex, utf8 } from "./encoding.js";
import {
  DEFAULT_PARAMS,
  WRAP_PASSWORD,
  WRAP_RECOVERY,
  bundleFrom,
  derivePasswordKeys,
  formatRecoveryCode,
  loginProof,
  parseRecoveryCode,
  recoveryKey,
  serializeBundle,
  unwrapBundle,
  wrapBundle,
} from "./keys.js";
import { paddedLength, pad } from "./padding.js";
import { AEAD_NONCE, aeadDecrypt, aeadEncrypt, label, signKeyPair } from "./primitives.js";
import { lib, ready } from "./sodium.js";

export const PROTOCOL = 1;
const KiB = 1024;
const CREATED = 1764320400; // 2025-11-28T09:00:00Z

// --- deterministic randomness ----------------------------------------------------------------

/**
 * A deterministic byte stream from a seed: BLAKE2b-512 keyed with H256(label ‖ seed) over a
 * BE64 block counter. For test vectors only, never for real keys.
 * @param {Uint8Array} seed
 * @returns {(n: number) => Uint8Array}
 */
export function deterministicRandom(seed) {
  const sodium = lib();
  const key = sodium.crypto_generichash(32, concat(label("ISEC-vectors-rng-v1"), seed), null);
  let counter = 0;
  let pool = new Uint8Array(0);
  return (n) => {
    while (pool.length < n) {
      pool = concat(pool, sodium.crypto_generichash(64, be64(counter++), key));
    }
    const out = pool.slice(0, n);
    pool = pool.slice(n);
    return out;
  };
}

// --- members -----------------------------------------------------------------------------------

const PEOPLE = {
  alice: ["Alice Martin", "alice@agency-a.example"],
  bob: ["Bob Okafor", "bob@agency-b.example"],
  carol: ["Carol Ruiz", "carol@agency-c.example"],
  mallory: ["Mallory Vance", "mallory@agency-m.example"],
};

function makeMember(name, uid, sigSeed, encKeys) {
  const keys = bundleFrom(sigSeed, encKeys);
  const [displayName, email] = PEOPLE[name] ?? [name, `${name}@example.org`];
  return {
    name,
    uid,
    ...keys,
    current: keys.encKeys[keys.encKeys.length - 1],
    party: { uid: toHex(uid), name: displayName, email },
  };
}

function loadMembers(json) {
  const members = {};
  for (const [name, m] of Object.entries(json)) {
    const encKeys = m.enc_keys.map((k) => ({ created: k.created, sk: b64decode(k.sk, 32) }));
    members[name] = makeMember(name, uidFromHex(m.uid), b64decode(m.sig_seed, 32), encKeys);
  }
  return members;
}

function memberJson(m) {
  return {
    uid: toHex(m.uid),
    sig_seed: b64encode(m.sigSeed),
    enc_keys: m.encKeys.map((k) => ({ created: k.created, sk: b64encode(k.sk) })),
  };
}

// --- small helpers -----------------------------------------------------------------------------

function flip(bytes, offset, mask = 0x01) {
  const out = bytes.slice();
  out[offset] ^= mask;
  return out;
}

function replaceAt(bytes, offset, part) {
  const out = bytes.slice();
  out.set(part, offset);
  return out;
}

function basePayload(o) {
  return {
    v: 1,
    type: o.type ?? "mail",
    from: o.from.party,
    to: (o.to ?? []).map((m) => m.party),
    cc: (o.cc ?? []).map((m) => m.party),
    subject: o.subject ?? "Request for assistance",
    body: o.body ?? "Please see the attached statement.",
    date: o.date ?? "2026-11-28T09:00:00Z",
    in_reply_to: o.inReplyTo ?? null,
    references: o.references ?? [],
    handling: o.handling ?? "H2",
    attachments: o.attachments ?? [],
    forwarded: o.forwarded ?? [],
  };
}

function jsonBytes(value) {
  return utf8(JSON.stringify(value));
}

// --- generation --------------------------------------------------------------------------------

/**
 * Generate a vector document (producer "browser"). Everything comes from a deterministic
 * stream derived from `seed` except the sealed-box ephemeral keys drawn inside libsodium.
 * Argon2id runs twice (about a second in a browser).
 * @param {Uint8Array} seed
 * @returns {Promise<object>}
 */
export async function generateVectors(seed) {
  await ready();
  const random = deterministicRandom(seed);
  const cases = [];
  const add = (name, kind, inputs, expect) => cases.push({ name, kind, ...inputs, expect });

  // Members: bob has an older key too.
  const newMember = (name, nKeys = 1) => {
    const uid = random(16);
    const sigSeed = random(32);
    const encKeys = [];
    for (let i = 0; i < nKeys; i++) {
      encKeys.push({ created: CREATED - 86400 * 30 * (nKeys - 1 - i), sk: random(32) });
    }
    return makeMember(name, uid, sigSeed, encKeys);
  };
  const alice = newMember("alice");
  const bob = newMember("bob", 2);
  const carol = newMember("carol");
  const mallory = newMember("mallory");
  const members = { alice, bob, carol, mallory };

  // padme
  for (const length of [0, 1, 3, 100, 254, 255, 256, 271, 272, 300, 1000, 5000, 65535, 65536, 1000000, 67108863]) {
    add(`padme ${length}`, "padme", { length }, { padded_length: paddedLength(length) });
  }

  // password
  const salt = random(16);
  const password = "correct horse ｂａｔｔｅｒｙ staple ﬁve";
  const pwKeys = derivePasswordKeys(password, salt, DEFAULT_PARAMS);
  add("password: default parameters, NFKC", "password", { password, salt: b64encode(salt), params: { ...DEFAULT_PARAMS } }, {
    auth_pk: b64encode(pwKeys.authPk),
    kek: b64encode(pwKeys.kek),
  });
  const MiB = KiB * KiB;
  for (const [why, params] of [
    ["ops below 3", { alg: "argon2id13", ops: 2, mem: 64 * MiB }],
    ["ops above 10", { alg: "argon2id13", ops: 11, mem: 64 * MiB }],
    ["mem below 64 MiB", { alg: "argon2id13", ops: 3, mem: 32 * MiB }],
    ["mem above 1 GiB", { alg: "argon2id13", ops: 3, mem: 2048 * MiB }],
    ["algorithm argon2i13", { alg: "argon2i13", ops: 3, mem: 64 * MiB }],
  ]) {
    add(`password: ${why}`, "password", { password, salt: b64encode(salt), params }, { error: "params" });
  }

  // login
  for (const [origin, username, totp] of [
    ["https://isecom.example", "alice@agency-a.example", "123456"],
    ["http://127.0.0.1:8080", "bob@agency-b.example", "000042"],
  ]) {
    const challengeId = random(16);
    const challenge = random(32);
    const authSeed = random(32);
    const { privateKey } = signKeyPair(authSeed);
    const proof = loginProof(privateKey, { origin, username, challengeId, challenge, totpCode: totp });
    add(`login: ${origin}`, "login", {
      auth_seed: b64encode(authSeed),
      origin,
      username,
      challenge_id: b64encode(challengeId),
      challenge: b64encode(challenge),
      totp_code: totp,
    }, { proof: b64encode(proof) });
  }

  // recovery codes
  const rkAlice = random(16);
  const codeAlice = formatRecoveryCode(rkAlice);
  add("recovery code: as printed", "recovery_code", { code: codeAlice }, { rk: b64encode(rkAlice) });
  add("recovery code: lower case, spaces", "recovery_code", { code: codeAlice.toLowerCase().replace(/-/g, " ") }, {
    rk: b64encode(rkAlice),
  });
  const compact = codeAlice.replace(/-/g, "");
  add("recovery code: 25 characters", "recovery_code", { code: compact.slice(0, 25) }, { error: "format" });
  add("recovery code: 27 characters", "recovery_code", { code: `${compact}A` }, { error: "format" });
  add("recovery code: digit 1 outside the alphabet", "recovery_code", { code: `1${compact.slice(1)}` }, { error: "format" });
  add("recovery code: non-zero trailing bits", "recovery_code", {
    code: compact.slice(0, 25) + "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"["ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".indexOf(compact[25]) | 1],
  }, { error: "format" });

  // bundles
  const rkBob = random(16);
  const codeBob = formatRecoveryCode(rkBob);
  const bundleAlice = serializeBundle(alice);
  const bundleBob = serializeBundle(bob);
  const wrap = (bundle, m, wrapKey, kind, bundleVersion) =>
    wrapBundle({ bundle, uid: m.uid, wrapKey, kind, bundleVersion, nonce: random(24) });
  const pwWrap = wrap(bundleAlice, alice, pwKeys.kek, WRAP_PASSWORD, 3);
  const rcWrap = wrap(bundleAlice, alice, recoveryKey(rkAlice), WRAP_RECOVERY, 3);
  const rcWrapBob = wrap(bundleBob, bob, recoveryKey(rkBob), WRAP_RECOVERY, 1);
  const pwInputs = { member: "alice", password, salt: b64encode(salt), params: { ...DEFAULT_PARAMS } };
  const bundleOk = (bundle, version) => ({ bundle_version: version, bundle: b64encode(bundle) });
  add("bundle: password wrap", "bundle", { ...pwInputs, wrapped: b64encode(pwWrap) }, bundleOk(bundleAlice, 3));
  add("bundle: wrong password", "bundle", { ...pwInputs, password: "correct horse battery staple fiv", wrapped: b64encode(pwWrap) }, {
    error: "decrypt",
  });
  const rcInputs = (wrapped, code = codeAlice, member = "alice") => ({ member, recovery_code: code, wrapped: b64encode(wrapped) });
  add("bundle: recovery wrap", "bundle", rcInputs(rcWrap), bundleOk(bundleAlice, 3));
  add("bundle: recovery wrap, two encryption keys", "bundle", rcInputs(rcWrapBob, codeBob, "bob"), bundleOk(bundleBob, 1));
  add("bundle: wrong recovery code", "bundle", rcInputs(rcWrap, codeBob), { error: "decrypt" });
  add("bundle: another member's wrap (uid in ad)", "bundle", rcInputs(rcWrapBob, codeBob, "alice"), { error: "decrypt" });
  add("bundle: password wrap used as recovery wrap", "bundle", rcInputs(pwWrap), { error: "format" });
  add("bundle: kind byte changed to password", "bundle", rcInputs(replaceAt(rcWrap, 5, [WRAP_PASSWORD])), { error: "format" });
  add("bundle: recovery wrap used as password wrap", "bundle", { ...pwInputs, wrapped: b64encode(rcWrap) }, { error: "format" });
  add("bundle: tampered magic", "bundle", rcInputs(flip(rcWrap, 3)), { error: "version" });
  add("bundle: unknown suite", "bundle", rcInputs(replaceAt(rcWrap, 4, [0x02])), { error: "version" });
  add("bundle: tampered bundle_version", "bundle", rcInputs(flip(rcWrap, 9)), { error: "decrypt" });
  add("bundle: tampered nonce", "bundle", rcInputs(flip(rcWrap, 20)), { error: "decrypt" });
  add("bundle: tampered ciphertext", "bundle", rcInputs(flip(rcWrap, 40)), { error: "decrypt" });
  add("bundle: truncated", "bundle", rcInputs(rcWrap.slice(0, 40)), { error: "format" });

  // attachments: file A has two chunks (one full), B three (two full), C and E are empty, D is one full chunk.
  const fileA = encryptFile(random(64 * KiB + 1000), { name: "statement.pdf", mime: "application/pdf", chunkSize: 64 * KiB, random });
  const fileB = encryptFile(random(128 * KiB + 10), { name: "ledger.csv", mime: "text/csv", chunkSize: 64 * KiB, random });
  const fileC = encryptFile(new Uint8Array(0), { name: "empty.txt", mime: "text/plain", chunkSize: 64 * KiB, random });
  const fileD = encryptFile(random(64 * KiB), { name: "photo.jpg", mime: "image/jpeg", chunkSize: 64 * KiB, random });
  const fileE = encryptFile(new Uint8Array(0), { name: "empty.txt", mime: "text/plain", chunkSize: 64 * KiB, random });
  const plainOf = (file) => openFile(file.descriptor, file.hashes, file.blobs);
  const chunkInputs = (file, index, blob, descriptor = descriptorJson(file.descriptor), hashes = file.hashes) => ({
    descriptor,
    chunk_hashes: hashes.map(b64encode),
    index,
    blob: b64encode(blob),
  });
  const plainA = plainOf(fileA);
  add("chunk: first of two", "chunk", chunkInputs(fileA, 0, fileA.blobs[0]), { plain: b64encode(plainA.subarray(0, 64 * KiB)) });
  add("chunk: last of two", "chunk", chunkInputs(fileA, 1, fileA.blobs[1]), { plain: b64encode(plainA.subarray(64 * KiB)) });
  add("chunk: the one empty chunk of an empty file", "chunk", chunkInputs(fileC, 0, fileC.blobs[0]), { plain: "" });
  add("chunk: index beyond n_chunks", "chunk", chunkInputs(fileA, 2, fileA.blobs[1]), { error: "format" });
  add("chunk: blob one byte short", "chunk", chunkInputs(fileA, 1, fileA.blobs[1].slice(0, -1)), { error: "format" });
  add("chunk: blob of the right length, not in the manifest", "chunk", chunkInputs(fileC, 0, fileA.blobs[1].slice(0, 40)), { error: "manifest" });
  add("chunk: tampered blob", "chunk", chunkInputs(fileA, 1, flip(fileA.blobs[1], 100)), { error: "manifest" });
  add("chunk: blob of another file", "chunk", chunkInputs(fileC, 0, fileE.blobs[0]), { error: "manifest" });
  add("chunk: tampered hash list", "chunk", chunkInputs(fileA, 1, fileA.blobs[1], undefined, [fileA.hashes[0], flip(fileA.hashes[1], 0)]), {
    error: "manifest",
  });
  add("chunk: hash list missing one", "chunk", chunkInputs(fileA, 1, fileA.blobs[1], undefined, [fileA.hashes[1]]), { error: "manifest" });
  const badDescriptor = (changes) => ({ ...descriptorJson(fileA.descriptor), ...changes });
  for (const [why, changes] of [
    ["n_chunks inconsistent", { n_chunks: 3 }],
    ["chunk_size not a power of two", { chunk_size: 65537 }],
    ["chunk_size below 64 KiB", { chunk_size: 32 * KiB, n_chunks: 3 }],
    ["chunk_size above 16 MiB", { chunk_size: 32 * MiB, n_chunks: 1 }],
    ["negative size", { size: -1 }],
    ["file_key of 31 bytes", { file_key: b64encode(fileA.descriptor.fileKey.subarray(1)) }],
    ["unknown member", { comment: "x" }],
  ]) {
    add(`chunk: descriptor ${why}`, "chunk", chunkInputs(fileA, 1, fileA.blobs[1], badDescriptor(changes)), { error: "format" });
  }
  // A sender that encrypts the last chunk with the associated data of chunk 0 (hash list
  // and root consistent) and one whose descriptor carries another key: only AEAD catches it.
  {
    const nonce = random(AEAD_NONCE);
    const { fileId, fileKey, size, chunkSize, nChunks } = fileA.descriptor;
    const plainLast = plainA.subarray(64 * KiB);
    const blob = concat(nonce, aeadEncrypt(fileKey, nonce, plainLast, chunkAd(fileId, 0, nChunks, size, chunkSize)));
    const hashes = [fileA.hashes[0], chunkHash(blob)];
    const descriptor = descriptorJson({ ...fileA.descriptor, manifestRoot: manifestRoot(fileId, hashes) });
    add("chunk: last chunk sealed with the associated data of chunk 0", "chunk", chunkInputs(fileA, 1, blob, descriptor, hashes), { error: "decrypt" });
    add("file: final chunk not flagged last", "file", {
      descriptor,
      chunk_hashes: hashes.map(b64encode),
      blobs: [fileA.blobs[0], blob].map(b64encode),
    }, { error: "decrypt" });
    const otherKey = descriptorJson({ ...fileA.descriptor, fileKey: random(32) });
    add("chunk: descriptor with another file key", "chunk", chunkInputs(fileA, 1, fileA.blobs[1], otherKey), { error: "decrypt" });
  }
  const fileInputs = (file, order, descriptor = descriptorJson(file.descriptor)) => ({
    descriptor,
    chunk_hashes: file.hashes.map(b64encode),
    blobs: order.map((i) => b64encode(file.blobs[i])),
  });
  add("file: two chunks", "file", fileInputs(fileA, [0, 1]), { plain: b64encode(plainA) });
  add("file: empty", "file", fileInputs(fileC, [0]), { plain: "" });
  add("file: exactly one full chunk", "file", fileInputs(fileD, [0]), { plain: b64encode(plainOf(fileD)) });
  add("file: final chunk missing", "file", fileInputs(fileA, [0]), { error: "truncated" });
  add("file: no chunks at all", "file", fileInputs(fileA, []), { error: "truncated" });
  add("file: final chunk duplicated after the end", "file", fileInputs(fileA, [0, 1, 1]), { error: "truncated" });
  add("file: chunks reordered", "file", fileInputs(fileB, [1, 0, 2]), { error: "manifest" });
  add("file: chunk duplicated in place of the next", "file", fileInputs(fileB, [0, 0, 2]), { error: "manifest" });
  add("file: signed sha256 does not match", "file", fileInputs(fileC, [0], descriptorJson({ ...fileC.descriptor, sha256: random(32) })), {
    error: "sha256",
  });

  // messages
  let clock = CREATED * 1000;
  const to = (m, key = m.current) => ({ uid: m.uid, encPk: key.pk });
  const seal = (o) => {
    const sender = o.sender ?? alice;
    const msgId = random(16);
    const cek = random(32);
    const nonce = random(AEAD_NONCE);
    const payload = o.payloadBytes ?? (o.padded ? undefined : jsonBytes(o.payload));
    const envelope = sealEnvelope({
      kind: o.kind ?? "mail",
      senderUid: sender.uid,
      senderSigKid: sender.sigKid,
      signSk: (o.signer ?? sender).sigSk,
      recipients: o.recipients,
      payloadBytes: payload,
      padded: o.padded,
      msgId,
      createdMs: (clock += 60000),
      cek,
      nonce,
      cekFor: o.cekFor,
    });
    return { envelope, cek, msgId, payload };
  };
  const msgInputs = (envelope, reader, sender = alice) => ({
    envelope: b64encode(envelope),
    reader: reader.name,
    sender_sig_pk: b64encode(sender.sigPk),
  });
  const ok = (payload) => ({ payload: b64encode(payload) });
  const everyone = [to(alice), to(bob), to(carol)];
  const mailPayload = basePayload({ from: alice, to: [bob], cc: [carol] });
  const e0 = seal({ recipients: everyone, payload: mailPayload });
  add("message: bob reads", "message", msgInputs(e0.envelope, bob), ok(e0.payload));
  add("message: carol reads (cc)", "message", msgInputs(e0.envelope, carol), ok(e0.payload));
  add("message: alice reads her own copy", "message", msgInputs(e0.envelope, alice), ok(e0.payload));
  add("message: mallory is not a recipient", "message", msgInputs(e0.envelope, mallory), { error: "recipient" });
  {
    const old = seal({ recipients: [to(alice), to(bob, bob.encKeys[0]), to(carol)], payload: mailPayload });
    add("message: bob reads with his older key", "message", msgInputs(old.envelope, bob), ok(old.payload));
    const reply = seal({
      sender: bob,
      recipients: [to(alice), to(bob)],
      payload: basePayload({
        from: bob,
        to: [alice],
        subject: "Re: Request for assistance — virement 12 000 €",
        body: "Réponse: documents reçus.\n\u0627\u0644\u0645\u0644\u0641 \u0645\u0631\u0641\u0642.\nEmoji 📎 and a \"quote\" \\ backslash.",
        inReplyTo: toHex(e0.msgId),
        references: [toHex(e0.msgId)],
        handling: "H3",
        attachments: [descriptorJson(fileA.descriptor), descriptorJson(fileC.descriptor)],
        forwarded: [{ msg_id: toHex(random(16)), from: toHex(carol.uid), date: "2026-11-27T17:30:05.250Z" }],
        date: "2026-11-28T10:15:00Z",
      }),
    });
    add("message: reply with attachments, threading, forward chain, non-ASCII", "message", msgInputs(reply.envelope, alice, bob), ok(reply.payload));
    const bcc = basePayload({ from: alice, to: [], cc: [bob, bob, carol] });
    const dup = seal({ recipients: everyone, payload: bcc });
    add("message: no to, a party named twice", "message", msgInputs(dup.envelope, carol), ok(dup.payload));
    const big = seal({ recipients: [to(alice), to(carol)], payload: basePayload({ from: alice, to: [carol], body: "x".repeat(5000) }) });
    add("message: 5000-character body", "message", msgInputs(big.envelope, carol), ok(big.payload));
    const subject = seal({ recipients: [to(alice), to(carol)], payload: basePayload({ from: alice, to: [carol], subject: "📎".repeat(1000) }) });
    add("message: subject of 1000 characters outside the BMP", "message", msgInputs(subject.envelope, carol), ok(subject.payload));
    // Payloads of exactly 511 and 512 bytes: padded to 512 and 544.
    for (const length of [511, 512]) {
      const p = basePayload({ from: alice, to: [carol], body: "" });
      p.body = "y".repeat(length - jsonBytes(p).length);
      const e = seal({ recipients: [to(alice), to(carol)], payload: p });
      if (e.payload.length !== length) {
        throw new Error("payload length");
      }
      add(`message: payload of ${length} bytes`, "message", msgInputs(e.envelope, carol), ok(e.payload));
    }
  }

  // Tampering with each header field of e0 (n = 3).
  {
    const env = e0.envelope;
    const parsed = parseEnvelope(env, "mail");
    const n = parsed.entries.length;
    const entryAt = (i) => 79 + 144 * i;
    const bobIndex = parsed.entries.findIndex((e) => equal(e.uid, bob.uid));
    const carolIndex = parsed.entries.findIndex((e) => equal(e.uid, carol.uid));
    const tail = 79 + 144 * n;
    const tampered = (why, bytes, check, reader = bob) =>
      add(`message: ${why}`, "message", msgInputs(bytes, reader), { error: check });
    tampered("tampered magic", flip(env, 3), "version");
    tampered("draft magic on a message", replaceAt(env, 0, utf8("ISD1")), "version");
    tampered("unknown suite", replaceAt(env, 4, [0x02]), "version");
    tampered("tampered msg_id", flip(env, 10), "unwrap");
    tampered("tampered created_ms", flip(env, 28), "decrypt");
    tampered("tampered sender_uid (no entry)", flip(env, 40), "format");
    tampered("sender_uid of another recipient", replaceAt(env, 29, carol.uid), "decrypt");
    tampered("tampered sender_sig_kid", flip(env, 60), "decrypt");
    tampered("n one more than the entries", replaceAt(env, 77, [0, n + 1]), "format");
    tampered("n zero", replaceAt(env, 77, [0, 0]), "format");
    tampered("n above 500", replaceAt(env, 77, [0x01, 0xf5]), "format");
    tampered("tampered reader uid", flip(env, entryAt(bobIndex) + 15), "recipient");
    tampered("tampered reader enc_kid", flip(env, entryAt(bobIndex) + 20), "recipient");
    tampered("tampered reader wrap", flip(env, entryAt(bobIndex) + 100), "unwrap");
    tampered("tampered other recipient's enc_kid", flip(env, entryAt(carolIndex) + 20), "decrypt");
    tampered("tampered other recipient's wrap", flip(env, entryAt(carolIndex) + 100), "decrypt");
    tampered("tampered key_commit", flip(env, tail + 5), "commitment");
    tampered("tampered nonce", flip(env, tail + 40), "decrypt");
    tampered("ct_len changed", flip(env, tail + 59), "format");
    tampered("tampered ciphertext", flip(env, tail + 60 + 10), "decrypt");
    tampered("tampered tag", flip(env, env.length - 1), "decrypt");
    tampered("one byte short", env.slice(0, -1), "format");
    tampered("one byte too many", concat(env, Uint8Array.of(0)), "format");
    tampered("cut inside the header", env.slice(0, 50), "format");
    const swapped = env.slice();
    swapped.set(env.subarray(entryAt(0), entryAt(1)), entryAt(1));
    swapped.set(env.subarray(entryAt(1), entryAt(2)), entryAt(0));
    tampered("entries out of order", swapped, "format");
    tampered("an entry twice", replaceAt(env, entryAt(1), env.subarray(entryAt(0), entryAt(1))), "format");

    // Swapped recipient list: the entries of another message to the same people.
    const e1 = seal({ recipients: everyone, payload: mailPayload });
    tampered("recipient list swapped from another message", replaceAt(env, 79, e1.envelope.subarray(79, tail)), "unwrap");
    const e1Bob = parseEnvelope(e1.envelope, "mail").entries.findIndex((e) => equal(e.uid, bob.uid));
    const otherWrap = e1.envelope.subarray(entryAt(e1Bob) + 48, entryAt(e1Bob) + 144);
    tampered("reader wrap pasted from another message", replaceAt(env, entryAt(bobIndex) + 48, otherWrap), "unwrap");

    // Surreptitious forwarding: bob passes alice's message on to mallory, as it is…
    add("message: forwarded unchanged by a recipient to a third party", "message", msgInputs(env, mallory), { error: "recipient" });
    // …or re-addressed: bob replaces his entry by one for mallory and re-encrypts with the CEK.
    const inner = aeadDecrypt(e0.cek, parsed.nonce, parsed.ciphertext, parsed.header);
    const entries = sortEntries([
      ...parsed.entries.filter((e) => !equal(e.uid, bob.uid)),
      makeEntry(mallory.uid, mallory.current.pk, e0.cek, parsed.msgId),
    ]);
    const header = buildHeader({ ...parsed, entries });
    add("message: re-addressed by a recipient to a third party", "message", msgInputs(encryptBody(header, e0.cek, inner), mallory), {
      error: "signature",
    });
  }

  // A sender giving carol another content key for the same ciphertext.
  {
    const otherCek = random(32);
    const e = seal({ recipients: everyone, payload: mailPayload, cekFor: (r) => (equal(r.uid, carol.uid) ? otherCek : undefined) });
    add("message: sender gave this recipient another content key", "message", msgInputs(e.envelope, carol), { error: "commitment" });
    add("message: recipient with the committed key, other recipient got another", "message", msgInputs(e.envelope, bob), ok(e.payload));
  }
  add("message: supplied sender key is not the header's", "message", msgInputs(e0.envelope, bob, mallory), { error: "sender_key" });
  {
    const forged = seal({ recipients: everyone, payload: mailPayload, signer: mallory });
    add("message: signed by mallory in alice's name", "message", msgInputs(forged.envelope, bob), { error: "signature" });
  }

  // Padding made by a sender that does not follow §6.3.
  {
    const p = jsonBytes(mailPayload);
    const odd = concat(p, Uint8Array.of(0x80), new Uint8Array(paddedLength(p.length) + 8 - p.length - 1));
    add("message: padded length pad() cannot produce", "message", msgInputs(seal({ recipients: everyone, padded: odd }).envelope, bob), {
      error: "padding",
    });
    const noMarker = concat(p, new Uint8Array(paddedLength(p.length) - p.length));
    add("message: padding without 0x80", "message", msgInputs(seal({ recipients: everyone, padded: noMarker }).envelope, bob), {
      error: "padding",
    });
    const over = concat(p, Uint8Array.of(0x80), new Uint8Array(paddedLength(p.length + 200) - p.length - 1));
    add("message: more padding than pad() adds", "message", msgInputs(seal({ recipients: everyone, padded: over }).envelope, bob), {
      error: "padding",
    });
    const junk = pad(p);
    junk[junk.length - 1] = 0x01;
    add("message: non-zero byte after 0x80", "message", msgInputs(seal({ recipients: everyone, padded: junk }).envelope, bob), {
      error: "padding",
    });
  }

  // Payloads that are signed and sealed correctly but not valid.
  {
    const text = JSON.stringify(mailPayload);
    const bad = (why, bytes) =>
      add(`message payload: ${why}`, "message", msgInputs(seal({ recipients: everyone, payloadBytes: bytes }).envelope, bob), {
        error: "payload",
      });
    const withChange = (change) => jsonBytes({ ...mailPayload, ...change });
    bad("not JSON", utf8(text.slice(0, -1)));
    bad("a JSON array", utf8(`[${text}]`));
    bad("byte-order mark", concat(Uint8Array.of(0xef, 0xbb, 0xbf), utf8(text)));
    bad("invalid UTF-8", concat(utf8(text.slice(0, -1)), utf8(',"x":"'), Uint8Array.of(0xc3, 0x28), utf8('"}')));
    bad("duplicate member name", utf8(`${text.slice(0, -1)},"subject":"Other subject"}`));
    bad("duplicate member name, escaped", utf8(`${text.slice(0, -1)},"subj\\u0065ct":"Other subject"}`));
    bad("unknown member", withChange({ priority: "high" }));
    bad("unknown member in a party", withChange({ from: { ...alice.party, phone: "+1" } }));
    const missing = { ...mailPayload };
    delete missing.forwarded;
    bad("member missing", jsonBytes(missing));
    bad("v is 2", withChange({ v: 2 }));
    bad("v is true", withChange({ v: true }));
    bad("type draft in a message", withChange({ type: "draft" }));
    bad("from is not the sender", withChange({ from: bob.party, to: [alice.party] }));
    bad("recipient set misses a recipient", withChange({ cc: [] }));
    bad("recipient set names a non-recipient", withChange({ cc: [carol.party, mallory.party] }));
    bad("subject of 1001 characters", withChange({ subject: "s".repeat(1001) }));
    bad("lone surrogate", utf8(text.replace('"Request for assistance"', '"Request \\ud800"')));
    bad("handling H4", withChange({ handling: "H4" }));
    bad("date not RFC 3339", withChange({ date: "2026-11-28 09:00:00" }));
    bad("date with an offset", withChange({ date: "2026-11-28T09:00:00+01:00" }));
    bad("in_reply_to in upper case", withChange({ in_reply_to: toHex(e0.msgId).toUpperCase() }));
    bad("101 references", withChange({ references: Array(101).fill(toHex(e0.msgId)) }));
    bad("uid of 31 digits", withChange({ to: [{ ...bob.party, uid: bob.party.uid.slice(1) }] }));
    bad("attachment descriptor inconsistent", withChange({ attachments: [{ ...descriptorJson(fileA.descriptor), n_chunks: 1 }] }));
    const forward = { msg_id: toHex(e0.msgId), from: toHex(carol.uid), date: "2026-11-27T17:30:05Z", via: "x" };
    bad("forwarded entry with an unknown member", withChange({ forwarded: [forward] }));
  }

  // drafts
  {
    const draftPayload = basePayload({ type: "draft", from: alice, to: [bob, mallory], subject: "Draft: not sent yet" });
    const draft = seal({ kind: "draft", recipients: [to(alice)], payload: draftPayload });
    const dInputs = (envelope, reader, sender = alice) => msgInputs(envelope, reader, sender);
    add("draft: the author reads it", "draft", dInputs(draft.envelope, alice), ok(draft.payload));
    add("draft: another member cannot", "draft", dInputs(draft.envelope, bob), { error: "recipient" });
    add("draft: tampered ciphertext", "draft", dInputs(flip(draft.envelope, draft.envelope.length - 20), alice), { error: "decrypt" });
    add("draft: message magic on a draft", "draft", dInputs(replaceAt(draft.envelope, 0, utf8("ISM1")), alice), { error: "version" });
    const two = seal({ kind: "draft", recipients: [to(alice), to(bob)], payload: draftPayload });
    add("draft: two entries", "draft", dInputs(two.envelope, alice), { error: "format" });
    const foreign = seal({
      kind: "draft",
      sender: mallory,
      recipients: [to(alice)],
      payload: basePayload({ type: "draft", from: mallory }),
    });
    add("draft: sealed to the reader by someone else", "draft", dInputs(foreign.envelope, alice, mallory), { error: "format" });
    const planted = seal({ kind: "draft", recipients: [to(alice)], payload: draftPayload, signer: mallory });
    add("draft: planted in the author's name", "draft", dInputs(planted.envelope, alice), { error: "signature" });
    const asMail = seal({ kind: "draft", recipients: [to(alice)], payload: { ...draftPayload, type: "mail" } });
    add("draft: payload type mail", "draft", dInputs(asMail.envelope, alice), { error: "payload" });
    const notAuthor = seal({ kind: "draft", recipients: [to(alice)], payload: { ...draftPayload, from: bob.party } });
    add("draft: from is not the author", "draft", dInputs(notAuthor.envelope, alice), { error: "payload" });
  }

  generateKtCases(add, random, CREATED);

  return {
    protocol: PROTOCOL,
    producer: "browser",
    members: Object.fromEntries(Object.entries(members).map(([name, m]) => [name, memberJson(m)])),
    cases,
  };
}

// --- checking ----------------------------------------------------------------------------------

function runCase(c, members) {
  const member = (name) => {
    if (!Object.hasOwn(members, name)) {
      throw new Error(`unknown member ${name}`);
    }
    return members[name];
  };
  switch (c.kind) {
    case "padme":
      return { padded_length: paddedLength(c.length) };
    case "password": {
      const keys = derivePasswordKeys(c.password, b64decode(c.salt, 16), c.params);
      return { auth_pk: b64encode(keys.authPk), kek: b64encode(keys.kek) };
    }
    case "login": {
      const { privateKey } = signKeyPair(b64decode(c.auth_seed, 32));
      const proof = loginProof(privateKey, {
        origin: c.origin,
        username: c.username,
        challengeId: b64decode(c.challenge_id, 16),
        challenge: b64decode(c.challenge, 32),
        totpCode: c.totp_code,
      });
      return { proof: b64encode(proof) };
    }
    case "recovery_code":
      return { rk: b64encode(parseRecoveryCode(c.code)) };
    case "bundle": {
      const m = member(c.member);
      let wrapKey;
      let kind;
      if (c.recovery_code !== undefined) {
        wrapKey = recoveryKey(parseRecoveryCode(c.recovery_code));
        kind = WRAP_RECOVERY;
      } else {
        wrapKey = derivePasswordKeys(c.password, b64decode(c.salt, 16), c.params).kek;
        kind = WRAP_PASSWORD;
      }
      const { bundle, bundleVersion } = unwrapBundle(b64decode(c.wrapped), { uid: m.uid, wrapKey, kind });
      return { bundle_version: bundleVersion, bundle: b64encode(bundle) };
    }
    case "message":
    case "draft": {
      const reader = member(c.reader);
      const open = c.kind === "message" ? openMessage : openDraft;
      const opened = open(b64decode(c.envelope), { uid: reader.uid, encKeys: reader.encKeys }, b64decode(c.sender_sig_pk));
      return { payload: b64encode(opened.payloadBytes) };
    }
    case "smtp_message": {
      const reader = member(c.reader);
      const opened = openSmtp(b64decode(c.envelope), { uid: reader.uid, encKeys: reader.encKeys }, b64decode(c.gateway_sig_pk));
      return { payload: b64encode(opened.payloadBytes) };
    }
    case "chunk":
      return { plain: b64encode(openChunk(c.descriptor, c.chunk_hashes, c.index, b64decode(c.blob))) };
    case "file":
      return { plain: b64encode(openFile(c.descriptor, c.chunk_hashes, c.blobs.map((b) => b64decode(b)))) };
    default:
      if (KT_KINDS.includes(c.kind)) {
        return runKtCase(c);
      }
      throw new Error(`unknown kind ${JSON.stringify(c.kind)}`);
  }
}

function show(value) {
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * Check a vector document; every case whose outcome differs from its `expect` (and every
 * exception that is not a CryptoError) is one failure string. An empty list means all pass.
 * @param {object} doc
 * @returns {Promise<string[]>}
 */
export async function checkVectors(doc) {
  await ready();
  const failures = [];
  if (doc === null || typeof doc !== "object" || doc.protocol !== PROTOCOL) {
    return [`document: protocol is not ${PROTOCOL}`];
  }
  let members;
  try {
    members = loadMembers(doc.members ?? {});
  } catch (error) {
    return [`document: members do not load: ${error}`];
  }
  if (!Array.isArray(doc.cases) || doc.cases.length === 0) {
    return ["document: no cases"];
  }
  doc.cases.forEach((c, i) => {
    const where = `case ${i} ${JSON.stringify(c?.name)} (${c?.kind})`;
    const expect = c?.expect;
    if (expect === null || typeof expect !== "object") {
      failures.push(`${where}: no expect`);
      return;
    }
    let actual;
    try {
      actual = runCase(c, members);
    } catch (error) {
      if (!(error instanceof CryptoError)) {
        failures.push(`${where}: exception ${error && error.stack ? error.stack.split("\n")[0] : error}`);
        return;
      }
      actual = { error: error.check, message: error.message };
    }
    if ("error" in expect) {
      if (actual.error !== expect.error) {
        failures.push(`${where}: expected error ${expect.error}, got ${actual.error ? `error ${actual.message}` : "success"}`);
      }
      return;
    }
    if (actual.error !== undefined) {
      failures.push(`${where}: expected success, got error ${actual.message}`);
      return;
    }
    const names = Object.keys(expect);
    if (names.length === 0) {
      failures.push(`${where}: empty expect`);
    }
    for (const name of names) {
      if (JSON.stringify(actual[name]) !== JSON.stringify(expect[name])) {
        failures.push(`${where}: ${name} expected ${show(expect[name])}, got ${show(actual[name])}`);
      }
    }
  });
  return failures;
}
