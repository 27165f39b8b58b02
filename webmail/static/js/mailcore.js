// The mailbox's keys and crypto, without the page: the member's unlocked identity (kept in this
// page's memory only), senders' and recipients' keys checked by the key ring (PROTOCOL.md §9.10),
// messages opened with openMessage and sealed with sealMessage, drafts with sealDraft/openDraft
// (§6, §7). mail.js and compose.js draw the page around it.
import { ApiError, call } from "./api.js";
import { KeyProblem, KeyRing } from "./keyring.js";
import { b64decode, b64encode, equal, fromHex, toHex, uidFromHex } from "./crypto/encoding.js";
import { CryptoError } from "./crypto/errors.js";
import { MAGIC, openDraft, openMessage, openSmtp, parseEnvelope, sealDraft, sealMessage } from "./crypto/envelope.js";
import { parseGatewayCertificate, parseLogKey } from "./crypto/keytrans.js";
import { smtpMessage } from "./smtpmail.js";
import { MAC, label } from "./crypto/primitives.js";
import { lib } from "./crypto/sodium.js";
import { unlockKeys } from "./unlock.js";

const THREAD_LABEL = "ISEC-v1-thread-tag";
export const EMAIL = /^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>"]+$/;

/** A refusal of one recipient (a KeyProblem reason, or "notfound"). */
export class RecipientProblem extends Error {
  constructor(email, reason) {
    super(reason);
    this.email = email;
    this.reason = reason;
  }
}

export function nowText() {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

const SMTP_MAGIC = new TextEncoder().encode(MAGIC.smtp);

/** Whether an envelope is SMTP mail sealed by the gateway ("ISS1", PROTOCOL.md §6.6). */
function isSmtp(bytes) {
  return bytes.length >= SMTP_MAGIC.length && SMTP_MAGIC.every((b, i) => bytes[i] === b);
}

export class Mail {
  constructor() {
    this.csrf = null;
    this.me = null; // the signed-in member of GET /api/v1/session
    this.keys = null; // the unlocked identity (memory only)
    this.ring = null;
    this.current = null; // {pk, sk} the current encryption key, as published in the key log
    this.senders = new Map(); // uid hex -> Promise of a checked member
    this.opened = new Map(); // msg id -> opened message
    this.gateway = null; // Promise of the SMTP gateway's verified signing key
  }

  async api(method, path, body) {
    try {
      return await call(method, path, { body, csrf: this.csrf });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        window.location.assign("/signin");
        return new Promise(() => {});
      }
      throw error;
    }
  }

  async session() {
    const session = await this.api("GET", "/api/v1/session");
    this.csrf = session.csrf_token;
    this.me = session.member;
    return this.me;
  }

  /** Unlock with the password and check the keys against the member's own entry in the key log. */
  async unlock(password) {
    const keys = await unlockKeys(password, this.me, (m, p, b) => this.api(m, p, b));
    this.keys = keys;
    this.ring = await KeyRing.open(this.me.id);
    const own = await this.ring.fetchLogged(this.me.id);
    const current = keys.encKeys.find((k) => equal(k.pk, own.verified.keys.encPk));
    if (current === undefined || !equal(own.verified.keys.sigPk, keys.sigPk)) {
      throw new KeyProblem("own");
    }
    this.current = current;
    this.uid = uidFromHex(this.me.id);
    this.threadKey = MAC(keys.sigSeed, label(THREAD_LABEL));
  }

  /** Wipe every secret this page holds. */
  close() {
    if (this.keys !== null) {
      this.keys.close();
      lib().memzero(this.threadKey);
      this.keys = null;
    }
    this.opened.clear();
  }

  get reader() {
    return { uid: this.uid, encKeys: this.keys.encKeys };
  }

  /** A member's keys checked by the key ring, as they were at `at` (seconds); waits while pending. */
  async member(uidHex, at) {
    const key = `${uidHex}@${at ?? ""}`;
    if (!this.senders.has(key)) {
      const checking = this.ring.fetchLogged(uidHex, { retries: 8, pause: 1500 });
      this.senders.set(key, checking);
      checking.catch(() => this.senders.delete(key));
    }
    return this.senders.get(key);
  }

  /**
   * Fetch and open one message (cached for the page's life). A sender whose keys fail the key
   * ring's checks: `problem` names the reason and nothing is shown as trusted.
   */
  async open(id) {
    if (this.opened.has(id)) {
      return this.opened.get(id);
    }
    const answer = await this.api("GET", `/api/v1/messages/${encodeURIComponent(id)}`);
    const bytes = b64decode(answer.envelope);
    const entry = answer.message;
    const result = { id, entry, payload: null, sender: null, problem: null, error: null, smtp: null };
    try {
      if (isSmtp(bytes)) {
        // §6.6: sealed by the gateway, whose key is checked against the pinned root first.
        const opened = openSmtp(bytes, this.reader, await this.gatewayKey());
        Object.assign(result, await smtpMessage(opened.payload));
        this.opened.set(id, result);
        return result;
      }
      const senderUid = toHex(parseEnvelope(bytes, "mail").senderUid);
      let sigPk = null;
      if (senderUid === this.me.id) {
        sigPk = this.keys.sigPk;
      } else {
        try {
          const sender = await this.member(senderUid);
          result.sender = sender;
          sigPk = sender.verified.keys.sigPk;
          const revoked = sender.verified.revoked;
          if (sender.problem === "revoked" && revoked && revoked.effective > entry.received_at_epoch) {
            result.problem = null; // revoked after this message was sent: it stays authentic
          } else {
            result.problem = sender.problem;
          }
        } catch (error) {
          if (!(error instanceof KeyProblem)) {
            throw error;
          }
          result.problem = error.reason;
        }
      }
      if (sigPk !== null) {
        const opened = openMessage(bytes, this.reader, sigPk);
        result.payload = opened.payload;
      }
    } catch (error) {
      if (!(error instanceof CryptoError)) {
        throw error;
      }
      result.error = error.check;
    }
    this.opened.set(id, result);
    return result;
  }

  /** The SMTP gateway's signing key: root → log key certificate → gateway certificate (§6.6). */
  async gatewayKey() {
    if (!this.gateway) {
      this.gateway = (async () => {
        const answer = await call("GET", "/keys/v1/gateway");
        const logKey = parseLogKey(b64decode(answer.log_key), this.ring.rootPk);
        if (logKey.origin !== this.ring.origin || (this.ring.logPk !== null && !equal(logKey.logPk, this.ring.logPk))) {
          throw new CryptoError("log", "the gateway's log key is not the pinned one");
        }
        return parseGatewayCertificate(b64decode(answer.certificate), logKey.logPk, this.ring.origin);
      })();
      this.gateway.catch(() => {
        this.gateway = null;
      });
    }
    return this.gateway;
  }

  /** Keys of one recipient by email, checked; a RecipientProblem says why they cannot be used. */
  async recipient(email) {
    for (let attempt = 0; ; attempt++) {
      let answer;
      try {
        answer = await call("GET", `/keys/v1/lookup?email=${encodeURIComponent(email)}`);
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          throw new RecipientProblem(email, "notfound");
        }
        throw new RecipientProblem(email, error instanceof ApiError && error.status === 0 ? "network" : "server");
      }
      try {
        const member = await this.ring.verify(answer);
        if (member.problem !== null) {
          throw new RecipientProblem(email, member.problem);
        }
        return member;
      } catch (error) {
        if (error instanceof KeyProblem && error.reason === "pending" && attempt < 8) {
          await new Promise((resolve) => setTimeout(resolve, 1500));
          continue;
        }
        if (error instanceof KeyProblem) {
          throw new RecipientProblem(email, error.reason);
        }
        throw error;
      }
    }
  }

  /** Every recipient checked (all refusals collected), then sealed and sent; the new id. */
  async send({ to, cc, subject, body, handling, inReplyTo, references, attachments, forwarded, files }) {
    const emails = [...new Set([...to, ...cc].map((e) => e.toLowerCase()))];
    const checked = await Promise.allSettled(emails.map((email) => this.recipient(email)));
    const problems = checked.filter((r) => r.status === "rejected").map((r) => r.reason);
    if (problems.length) {
      const other = problems.find((p) => !(p instanceof RecipientProblem));
      throw other ?? problems;
    }
    const byEmail = new Map(emails.map((email, i) => [email, checked[i].value]));
    const party = (email) => {
      const m = byEmail.get(email.toLowerCase());
      return { uid: toHex(m.verified.uid), name: m.verified.approval.name, email: m.verified.keys.email };
    };
    const recipients = [{ uid: this.uid, encPk: this.current.pk }];
    for (const m of byEmail.values()) {
      if (!recipients.some((r) => equal(r.uid, m.verified.uid))) {
        recipients.push({ uid: m.verified.uid, encPk: m.verified.keys.encPk });
      }
    }
    const payload = {
      v: 1,
      type: "mail",
      from: { uid: this.me.id, name: this.me.name, email: this.me.email },
      to: dedupe(to).map(party),
      cc: dedupe(cc).map(party),
      subject,
      body,
      date: nowText(),
      in_reply_to: inReplyTo ?? null,
      references: references ?? [],
      handling,
      attachments: attachments ?? [],
      forwarded: forwarded ?? [],
    };
    const sender = { uid: this.uid, sigSk: this.keys.sigSk, sigPk: this.keys.sigPk };
    const envelope = sealMessage({ payload, sender, recipients });
    const answer = await this.api("POST", "/api/v1/messages", { envelope: b64encode(envelope), files: files ?? [] });
    return answer.id;
  }

  /** Seal a draft to this member only (§7) and keep it in `slot`. */
  async saveDraft(slot, fields) {
    const party = (email) => ({ uid: "0".repeat(32), name: "", email }); // addresses only: checked at send
    const payload = {
      v: 1,
      type: "draft",
      from: { uid: this.me.id, name: this.me.name, email: this.me.email },
      to: fields.to.map(party),
      cc: fields.cc.map(party),
      subject: fields.subject,
      body: fields.body,
      date: nowText(),
      in_reply_to: fields.inReplyTo ?? null,
      references: fields.references ?? [],
      handling: fields.handling,
      attachments: fields.attachments ?? [],
      forwarded: fields.forwarded ?? [],
    };
    const author = { uid: this.uid, sigSk: this.keys.sigSk, sigPk: this.keys.sigPk, encPk: this.current.pk };
    const envelope = sealDraft({ payload, author });
    await this.api("PUT", `/api/v1/drafts/${slot}`, { envelope: b64encode(envelope) });
  }

  /** Every draft opened; one that does not open is left out (its slot is still listed). */
  async drafts() {
    const answer = await this.api("GET", "/api/v1/drafts");
    return answer.drafts.map((d) => {
      try {
        return { slot: d.slot, updated: d.updated_at, payload: openDraft(b64decode(d.envelope), this.reader, this.keys.sigPk).payload };
      } catch (error) {
        if (error instanceof CryptoError) {
          return { slot: d.slot, updated: d.updated_at, payload: null, error: error.check };
        }
        throw error;
      }
    });
  }

  /**
   * The opaque thread tag the server keeps for a message: a MAC of the thread's root msg_id under
   * a key derived from this member's signing seed, so the server cannot link threads across
   * mailboxes or learn which message started one.
   */
  threadTag(payload, id) {
    const root = payload.references.length ? payload.references[0] : payload.in_reply_to ?? id;
    return b64encode(MAC(this.threadKey, fromHex(root, 16))).slice(0, 22);
  }
}

function dedupe(emails) {
  const seen = new Set();
  return emails.filter((e) => {
    const key = e.toLowerCase();
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

export function newSlot() {
  return toHex(lib().randombytes_buf(16));
}
