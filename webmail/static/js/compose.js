// The composer of the mailbox page: To and Cc by email (suggestions from the key directory),
// subject, plain-text body, handling code; every recipient's keys checked by the key ring before
// anything is sealed, a refusal shown next to its recipient; drafts sealed to the author and saved
// a few seconds after typing stops (PUT /api/v1/drafts/{slot}), deleted once the message is sent.
import { ApiError, call } from "./api.js";
import { b64decode, toHex } from "./crypto/encoding.js";
import { EMAIL, RecipientProblem, newSlot } from "./mailcore.js";
import { errorText, fieldError, fill, show } from "./page.js";

const AUTOSAVE_MS = 2000;
const $ = (id) => document.getElementById(id);

export function addresses(text) {
  return text
    .split(/[,;\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export class Composer {
  /**
   * @param {import("./mailcore.js").Mail} mail
   * @param {DOMStringMap} msg
   * @param {{sent: (id: string) => void, reasonText: (reason: string) => string}} hooks
   */
  constructor(mail, msg, hooks) {
    this.mail = mail;
    this.msg = msg;
    this.hooks = hooks;
    this.form = $("compose-form");
    this.to = $("compose-to");
    this.cc = $("compose-cc");
    this.subject = $("compose-subject");
    this.body = $("compose-body");
    this.handling = $("compose-handling");
    this.status = $("compose-status");
    this.draftStatus = $("draft-status");
    this.list = $("compose-recipients");
    this.timer = null;
    this.sending = false;
    this.reset({});
    for (const input of [this.to, this.cc, this.subject, this.body, this.handling]) {
      input.addEventListener("input", () => this.changed());
    }
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    $("compose-discard").addEventListener("click", () => this.discard());
    $("compose-country").addEventListener("change", () => this.suggest());
  }

  /** A fresh (or prefilled) message; `slot` reopens a saved draft. */
  reset({ to = [], cc = [], subject = "", body = "", handling = "H1", inReplyTo = null, references = [],
    attachments = [], forwarded = [], slot = null }) {
    clearTimeout(this.timer);
    this.slot = slot ?? newSlot();
    this.saved = slot !== null;
    this.context = { inReplyTo, references, attachments, forwarded };
    this.to.value = to.join(", ");
    this.cc.value = cc.join(", ");
    this.subject.value = subject;
    this.body.value = body;
    this.handling.value = handling;
    this.list.replaceChildren();
    fieldError(this.to, $("compose-to-error"));
    fieldError(this.cc, $("compose-cc-error"));
    show(this.status, "");
    this.draftStatus.textContent = "";
    const box = $("compose-attachments-box");
    box.hidden = attachments.length === 0;
    $("compose-attachments").replaceChildren(
      ...attachments.map((a) => {
        const li = document.createElement("li");
        li.textContent = `${a.name} (${new Intl.NumberFormat(document.documentElement.lang).format(a.size)} B)`;
        return li;
      }),
    );
  }

  fields() {
    return {
      to: addresses(this.to.value),
      cc: addresses(this.cc.value),
      subject: this.subject.value,
      body: this.body.value,
      handling: this.handling.value,
      ...this.context,
    };
  }

  changed() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.saveDraft(), AUTOSAVE_MS);
  }

  async saveDraft() {
    if (this.sending || this.mail.keys === null) {
      return;
    }
    const fields = this.fields();
    const slot = this.slot;
    try {
      await this.mail.saveDraft(slot, fields);
      if (slot === this.slot) {
        this.saved = true;
        const time = new Intl.DateTimeFormat(document.documentElement.lang, { timeStyle: "short" }).format(new Date());
        this.draftStatus.textContent = fill(this.msg.msgDraftSaved, { time });
        this.hooks.drafts?.();
      }
    } catch (error) {
      const message = error instanceof ApiError ? error.message || String(error.status) : String(error);
      this.draftStatus.textContent = fill(this.msg.msgDraftFailed, { message });
    }
  }

  /** Wait for a pending autosave, so a draft is not saved again after it was sent or deleted. */
  async flush() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  async discard() {
    await this.flush();
    if (this.saved) {
      try {
        await this.mail.api("DELETE", `/api/v1/drafts/${this.slot}`);
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) {
          show(this.status, errorText(error, this.msg), "error");
          return;
        }
      }
    }
    this.reset({});
    show(this.status, this.msg.msgDraftDeleted, "ok");
    this.hooks.drafts?.();
  }

  validate() {
    let ok = true;
    for (const [input, error] of [[this.to, "compose-to-error"], [this.cc, "compose-cc-error"]]) {
      const bad = addresses(input.value).filter((a) => !EMAIL.test(a));
      fieldError(input, $(error), bad.length ? fill(this.msg.msgBadAddress, { address: bad.join(", ") }) : "");
      if (bad.length && ok) {
        input.focus();
      }
      ok = ok && bad.length === 0;
    }
    if (ok && addresses(this.to.value).length + addresses(this.cc.value).length === 0) {
      fieldError(this.to, $("compose-to-error"), this.msg.msgNoRecipient);
      this.to.focus();
      ok = false;
    }
    return ok;
  }

  showRefusals(problems) {
    this.list.replaceChildren(
      ...problems.map((p) => {
        const li = document.createElement("li");
        li.className = "refused";
        li.dataset.email = p.email;
        li.dataset.reason = p.reason;
        const who = document.createElement("bdi");
        who.textContent = p.email;
        const why = document.createElement("span");
        why.textContent = p.reason === "notfound" ? this.msg.msgNotFound : this.hooks.reasonText(p.reason);
        li.append(who, ": ", why);
        return li;
      }),
    );
  }

  async send() {
    if (this.sending || !this.validate()) {
      return;
    }
    this.sending = true;
    await this.flush();
    this.list.replaceChildren();
    show(this.status, this.msg.msgCheckingKeys);
    const fields = this.fields();
    try {
      const files = fields.attachments.map((a) => toHex(b64decode(a.file_id, 16)));
      const id = await this.mail.send({ ...fields, files });
      if (this.saved) {
        await this.mail.api("DELETE", `/api/v1/drafts/${this.slot}`).catch(() => null);
      }
      this.reset({});
      show(this.status, this.msg.msgSent, "ok");
      this.hooks.sent(id);
    } catch (error) {
      if (Array.isArray(error) && error.every((p) => p instanceof RecipientProblem)) {
        this.showRefusals(error);
        show(this.status, this.msg.msgBlocked, "error");
      } else if (error instanceof ApiError && error.status === 409) {
        this.mail.senders.clear(); // fetched again at the next send
        show(this.status, this.msg.msgStaleKey, "error");
      } else if (error instanceof ApiError) {
        show(this.status, errorText(error, this.msg), "error");
      } else {
        throw error;
      }
    } finally {
      this.sending = false;
    }
  }

  /** Fill the address suggestions with the members of the chosen country (the key directory). */
  async suggest() {
    const country = $("compose-country").value;
    const status = $("compose-directory-status");
    try {
      const found = await call("GET", `/keys/v1/directory?country=${encodeURIComponent(country)}`);
      $("compose-suggestions").replaceChildren(
        ...found.members.map((m) => {
          const option = document.createElement("option");
          option.value = m.email;
          option.label = `${m.name} — ${m.agency}`;
          return option;
        }),
      );
      status.textContent = fill(this.msg.msgDirectoryCount, { count: found.members.length });
    } catch (error) {
      status.textContent = error instanceof ApiError ? errorText(error, this.msg) : String(error);
    }
  }
}
