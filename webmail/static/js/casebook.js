// What the checklist pages share: the signed-in member's keys unlocked with the password (Mail of
// mailcore.js: memory only, checked against the key log), case keys unwrapped from the member's own
// wrap (PROTOCOL.md §12) and the unlock form.
import { Mail } from "./mailcore.js";
import { b64decode, fromHex } from "./crypto/encoding.js";
import { openLabel, unwrapCaseKey } from "./crypto/casefile.js";
import { lib } from "./crypto/sodium.js";

export class Casebook extends Mail {
  constructor() {
    super();
    this.caseKeys = new Map(); // case id -> case key (memory only)
  }

  /**
   * The case key from the caller's own wrap.
   * @param {{id: string, key_commit: string}} c the case (JSON)
   * @param {{enc_kid: string, wrap: string}} own the caller's participant entry
   */
  caseKey(c, own) {
    if (!this.caseKeys.has(c.id)) {
      const key = unwrapCaseKey({
        wrap: b64decode(own.wrap),
        encKid: b64decode(own.enc_kid, 32),
        caseId: fromHex(c.id, 16),
        keyCommit: b64decode(c.key_commit, 32),
        encKeys: this.keys.encKeys,
      });
      this.caseKeys.set(c.id, key);
    }
    return this.caseKeys.get(c.id);
  }

  label(c, own) {
    return openLabel(this.caseKey(c, own), fromHex(c.id, 16), b64decode(c.label));
  }

  close() {
    for (const key of this.caseKeys.values()) {
      lib().memzero(key);
    }
    this.caseKeys.clear();
    super.close();
  }
}

export { reasonText, unlockForm } from "./unlockform.js";
