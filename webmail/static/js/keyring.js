// The browser's key ring: fetch a member's keys from /keys/v1, verify everything against the
// pinned platform root key (docs/PROTOCOL.md §9.10), and remember — in localStorage, public data
// only — what the next look-up is checked against. The same rules as isecom/client/keyring.py:
//
// - the root key is pinned on first use from GET /keys/ (trust on first use); a different root
//   key later is a hard stop, never a silent re-pin;
// - the last checkpoint accepted moves forward only along a consistency proof from
//   GET /keys/v1/checkpoint?from=N; a smaller or different checkpoint of the same size is a
//   rollback or a fork;
// - per member, the newest log index seen: an older answer is a replay;
// - the contacts the member compared safety numbers with (uid -> sig_pk), per signed-in member;
//   a verified contact whose signing key changed is blocked until compared again.
//
// Any problem is a KeyProblem whose `reason` names the text the page shows (data-reason-*).
import { ApiError, call } from "./api.js";
import { CryptoError } from "./crypto/errors.js";
import { b64decode, b64encode, equal, fromHex, isHexId, toHex } from "./crypto/encoding.js";
import { checkProgress, parseCheckpoint, parseLogKey, safetyNumber, verifyResponse } from "./crypto/keytrans.js";
import { ready } from "./crypto/sodium.js";

const STATE = "isecom.keyring.v1";
const VERIFIED = "isecom.verified.v1.";
const OWN = "isecom.ownkeys.v1.";

/** Why a key cannot be used; `reason` is one of the REASONS (a check name of §10 or a ring rule). */
export class KeyProblem extends Error {
  /** @param {string} reason */
  constructor(reason) {
    super(reason);
    this.name = "KeyProblem";
    this.reason = reason;
  }
}

/** Every reason a page must have a text for (data-reason-* in its template). */
export const REASONS = Object.freeze([
  "proof",
  "log",
  "chain",
  "signature",
  "format",
  "version",
  "revoked",
  "replay",
  "expired",
  "changed",
  "pending",
  "root",
  "network",
  "server",
]);

function load(key) {
  try {
    const value = JSON.parse(window.localStorage.getItem(key) ?? "null");
    return value !== null && typeof value === "object" ? value : null;
  } catch {
    return null;
  }
}

function save(key, value) {
  window.localStorage.setItem(key, JSON.stringify(value));
}

async function get(path) {
  try {
    return await call("GET", path);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      window.location.assign("/signin");
      return new Promise(() => {});
    }
    if (error instanceof ApiError) {
      throw new KeyProblem(error.status === 0 ? "network" : "server");
    }
    throw error;
  }
}

function asProblem(error) {
  if (error instanceof KeyProblem) {
    return error;
  }
  if (error instanceof CryptoError) {
    return new KeyProblem(error.check);
  }
  if (error instanceof TypeError || error instanceof RangeError) {
    return new KeyProblem("format"); // an answer of the wrong shape
  }
  return error;
}

/**
 * Remember this member's own public keys as the unlocked bundle holds them (called at sign-in),
 * so the home page can tell a key statement the member never made.
 * @param {string} memberId
 * @param {Uint8Array} sigPk
 * @param {Uint8Array} encPk the current encryption key
 */
export function rememberOwnKeys(memberId, sigPk, encPk) {
  save(OWN + memberId, { sig_pk: b64encode(sigPk), enc_pk: b64encode(encPk) });
}

/** What rememberOwnKeys stored for this member, or null. */
export function ownKeys(memberId) {
  const value = load(OWN + memberId);
  return value && typeof value.sig_pk === "string" && typeof value.enc_pk === "string" ? value : null;
}

export class KeyRing {
  /**
   * @param {{rootPk: Uint8Array, origin: string, owner: string|null}} pinned
   */
  constructor({ rootPk, origin, owner }) {
    this.rootPk = rootPk;
    this.origin = origin;
    this.owner = owner;
    const state = load(STATE) ?? {};
    this.checkpoint = null;
    this.logPk = typeof state.log_pk === "string" ? b64decode(state.log_pk, 32) : null;
    this.seen = state.seen && typeof state.seen === "object" ? state.seen : {};
    if (typeof state.checkpoint === "string" && this.logPk !== null) {
      this.checkpoint = parseCheckpoint(b64decode(state.checkpoint), this.logPk);
    }
    this.verified = (owner && load(VERIFIED + owner)) || {};
  }

  /**
   * The key ring of this browser: the root key pinned at first use (GET /keys/); a different root
   * key is the "root" problem, a hard stop.
   * @param {string|null} owner the signed-in member's id (whose verified contacts these are)
   * @returns {Promise<KeyRing>}
   */
  static async open(owner = null) {
    await ready();
    const about = await get("/keys/");
    const served = b64decode(about.root_key, 32);
    const state = load(STATE) ?? {};
    if (typeof state.root_key === "string") {
      if (!equal(b64decode(state.root_key, 32), served)) {
        throw new KeyProblem("root");
      }
    } else {
      save(STATE, { root_key: b64encode(served) });
    }
    try {
      return new KeyRing({ rootPk: served, origin: window.location.origin, owner });
    } catch (error) {
      throw asProblem(error);
    }
  }

  persist() {
    const state = load(STATE) ?? {};
    save(STATE, {
      ...state,
      root_key: b64encode(this.rootPk),
      log_pk: this.logPk ? b64encode(this.logPk) : undefined,
      checkpoint: this.checkpoint ? b64encode(this.checkpoint.raw) : undefined,
      seen: this.seen,
    });
    if (this.owner) {
      save(VERIFIED + this.owner, this.verified);
    }
  }

  /**
   * A member's verified current keys (by id or email), or a KeyProblem saying why not.
   * @param {{memberId?: string, email?: string, now?: number}} which
   */
  async fetch({ memberId, email, now }) {
    const path = memberId
      ? `/keys/v1/members/${encodeURIComponent(memberId)}`
      : `/keys/v1/lookup?email=${encodeURIComponent(email ?? "")}`;
    return this.verify(await get(path), now);
  }

  /**
   * fetch() by member id, asking again while the newest keys wait for the next signed checkpoint
   * (or while a fresh log has no checkpoint at all and the server answers 404)
   * (a member who has just activated: every 5 s by default).
   * @param {string} memberId
   * @param {{retries?: number, pause?: number}} [options]
   */
  async fetchLogged(memberId, { retries = 20, pause = 1500 } = {}) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.fetch({ memberId });
      } catch (error) {
        if (!(error instanceof KeyProblem && ["pending", "server"].includes(error.reason) && attempt < retries)) {
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  /**
   * Check a look-up answer (§9.10) and remember what it proved.
   * @param {any} answer
   * @param {number} [now] seconds since the epoch
   */
  async verify(answer, now = Math.floor(Date.now() / 1000)) {
    if (answer?.pending) {
      throw new KeyProblem("pending");
    }
    let result;
    try {
      if (!isHexId(answer?.member?.id) || !Array.isArray(answer.entries) || answer.entries.length === 0) {
        throw new KeyProblem("format");
      }
      const entries = answer.entries.map((e) => {
        if (!Number.isSafeInteger(e.index) || !Array.isArray(e.proof)) {
          throw new KeyProblem("format");
        }
        return [e.index, b64decode(e.leaf), e.proof.map((p) => b64decode(p, 32))];
      });
      result = verifyResponse({
        rootPk: this.rootPk,
        origin: this.origin,
        logKey: b64decode(answer.log_key),
        checkpoint: b64decode(answer.checkpoint),
        uid: fromHex(answer.member.id, 16),
        entries,
      });
      const logPk = parseLogKey(b64decode(answer.log_key), this.rootPk).logPk;
      if (this.logPk !== null && !equal(logPk, this.logPk)) {
        throw new KeyProblem("log");
      }
      this.logPk = logPk;
      result.newest = Math.max(...entries.map(([index]) => index));
    } catch (error) {
      throw asProblem(error);
    }
    await this.advance(result.checkpoint);
    const { verified } = result;
    const uid = toHex(verified.uid);
    if (result.newest < (this.seen[uid] ?? -1)) {
      throw new KeyProblem("replay");
    }
    this.seen[uid] = result.newest;
    this.persist();
    const member = { ...answer.member, verified, problem: null };
    if (verified.revoked !== null) {
      member.problem = "revoked";
    } else if (!verified.usable(now)) {
      member.problem = "expired";
    } else if (this.verified[uid] !== undefined && this.verified[uid] !== b64encode(verified.keys.sigPk)) {
      member.problem = "changed";
    }
    return member;
  }

  /** Move the remembered checkpoint forward, only along a consistency proof. */
  async advance(cp) {
    const old = this.checkpoint;
    if (old !== null && !(old.size === cp.size && equal(old.root, cp.root))) {
      if (cp.size <= old.size) {
        throw new KeyProblem("log");
      }
      const answer = await get(`/keys/v1/checkpoint?from=${old.size}`);
      try {
        const proof = answer.consistency.map((p) => b64decode(p, 32));
        const latest = parseCheckpoint(b64decode(answer.checkpoint), this.logPk);
        if (latest.origin !== this.origin) {
          throw new KeyProblem("log");
        }
        if (!(latest.size === cp.size && equal(latest.root, cp.root))) {
          // The log moved on between the two requests: the newest checkpoint must extend the
          // remembered one, and the answer's checkpoint must lie on the way to it.
          checkProgress(old, latest, proof);
          const back = await get(`/keys/v1/checkpoint?from=${cp.size}`);
          const again = parseCheckpoint(b64decode(back.checkpoint), this.logPk);
          checkProgress(
            cp,
            again,
            back.consistency.map((p) => b64decode(p, 32)),
          );
          if (!(again.size === latest.size && equal(again.root, latest.root))) {
            throw new KeyProblem("pending"); // still moving: ask again
          }
          this.checkpoint = latest;
          return;
        }
        checkProgress(old, cp, proof);
      } catch (error) {
        throw asProblem(error);
      }
    }
    this.checkpoint = cp;
  }

  /** The user compared safety numbers: pin this signing key for the contact. */
  markVerified(member) {
    this.verified[toHex(member.verified.uid)] = b64encode(member.verified.keys.sigPk);
    this.persist();
  }

  /** "verified", "changed" or "unverified" for a checked member. */
  badge(member) {
    const pinned = this.verified[toHex(member.verified.uid)];
    if (pinned === undefined) {
      return "unverified";
    }
    return pinned === b64encode(member.verified.keys.sigPk) ? "verified" : "changed";
  }
}

/**
 * The 60-digit safety number of two checked members' (uid, sig_pk).
 * @param {{uid: Uint8Array, sigPk: Uint8Array}} me
 * @param {{verified: {uid: Uint8Array, keys: {sigPk: Uint8Array}}}} contact
 */
export function pairNumber(me, contact) {
  return safetyNumber([me.uid, me.sigPk], [contact.verified.uid, contact.verified.keys.sigPk]);
}
