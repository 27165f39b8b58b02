// The composer of the mailbox page: To and Cc by email (suggestions from the directory search,
// recipients.js, and from the key directory of the country picker),
// subject, plain-text body, handling code; every recipient's keys checked by the key ring before
// anything is sealed, a refusal shown next to its recipient; drafts sealed to the author and saved
// a few seconds after typing stops (PUT /api/v1/drafts/{slot}), deleted once the message is sent.
// Files attached by the picker or dropped on the composer are encrypted and uploaded at once
// (upload.js), each with a progress bar and a cancel button; Send waits until all are committed,
// then their descriptors go into the signed payload and their ids into `files`.
import { ApiError, call } from "./api.js";
import { chunkPool } from "./crypto/pool.js";
import { Upload, FileChanged } from "./upload.js";
import { UnfinishedUploads } from "./resumelist.js";
import { b64decode, toHex } from "./crypto/encoding.js";
import { EMAIL, RecipientProblem, newSlot } from "./mailcore.js";
import { errorText, fieldError, fill, show } from "./page.js";
import { RecipientSuggest } from "./recipients.js"; // To and Cc: members by name, email, country or agency
import "./compose-country.js"; // the recipients' country side panel
import "./compose-notices.js"; // notice references (CN-/AF-YYYY-NNNNN) in subject and body: status chips

const AUTOSAVE_MS = 2000;
const $ = (id) => document.getElementById(id);

export function addresses(text) {
  return text
    .split(/[,;\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

const lang = () => document.documentElement.lang;

function megabytes(bytes) {
  return new Intl.NumberFormat(lang(), { style: "unit", unit: "megabyte", maximumFractionDigits: 1 }).format(bytes / 1e6);
}

function mbNumber(rate) {
  return new Intl.NumberFormat(lang(), { maximumFractionDigits: 1 }).format(rate / 1e6);
}

function percentText(percent) {
  return new Intl.NumberFormat(lang(), { style: "percent" }).format(percent / 100);
}

function duration(seconds) {
  const [value, unit] = seconds < 90 ? [Math.ceil(seconds), "second"] : seconds < 5400 ? [Math.ceil(seconds / 60), "minute"] : [Math.ceil(seconds / 3600), "hour"];
  return new Intl.NumberFormat(lang(), { style: "unit", unit, unitDisplay: "long" }).format(value);
}

export { megabytes, mbNumber, percentText };

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
    this.countryMembers = []; // the picker's country, offered by ArrowDown in an empty field
    for (const field of ["to", "cc"]) {
      new RecipientSuggest($(`compose-${field}`), $(`compose-${field}-options`), {
        countries: () => [...$("compose-country").options].map((o) => ({ code: o.value, name: o.textContent.trim() })),
        fallback: () => this.countryMembers,
        status: $("compose-suggest-status"),
        countText: (count) => fill(msg.msgSuggestCount, { count }),
      });
    }
    this.timer = null;
    this.sending = false;
    this.uploads = [];
    this.pool = null;
    this.sendButton = this.form.querySelector("button[type=submit]");
    this.reset({});
    this.presetTo = addresses(new URLSearchParams(window.location.search).get("to") ?? ""); // /mail?to=
    const running = () => new Set(this.uploads.filter((u) => u.state !== "failed").map((u) => u.fileId));
    this.unfinished = new UnfinishedUploads(mail, msg, (file, resume) => this.attach([file], resume), running);
    this.unfinished.refresh();
    for (const input of [this.to, this.cc, this.subject, this.body, this.handling]) {
      input.addEventListener("input", () => this.changed());
    }
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    $("compose-discard").addEventListener("click", () => this.discard());
    $("compose-country").addEventListener("change", () => this.suggest());
    const picker = $("compose-files");
    picker.addEventListener("change", () => {
      this.attach([...picker.files]);
      picker.value = "";
    });
    const zone = $("compose-view");
    zone.addEventListener("dragover", (event) => {
      if (event.dataTransfer?.types.includes("Files")) {
        event.preventDefault();
        event.dataTransfer.dropEffect = "copy";
        zone.classList.add("dropping");
      }
    });
    zone.addEventListener("dragleave", (event) => {
      if (!zone.contains(event.relatedTarget)) {
        zone.classList.remove("dropping");
      }
    });
    zone.addEventListener("drop", (event) => {
      zone.classList.remove("dropping");
      if (event.dataTransfer?.files.length) {
        event.preventDefault();
        this.attach([...event.dataTransfer.files]);
      }
    });
  }

  /** Encrypt and upload each file at once (or resume one, §8.6); Send waits for them. */
  attach(files, resume = null) {
    this.pool ??= chunkPool();
    for (const failed of this.uploads.filter((u) => resume !== null && u.fileId === resume.fileId)) {
      this.uploads = this.uploads.filter((u) => u !== failed); // replaced, not cancelled: it resumes
      failed.row.li.remove();
    }
    for (const file of files) {
      const upload = new Upload(file, {
        csrf: this.mail.csrf,
        pool: this.pool,
        changed: (u) => this.drawUpload(u),
        sealTo: this.mail.current.pk,
        resume,
      });
      upload.row = this.uploadRow(upload);
      this.uploads.push(upload);
      $("compose-uploads").append(upload.row.li);
      this.drawUpload(upload);
      upload.run().then(() => {
        if (upload.state === "committed") {
          this.changed(); // the draft keeps the committed file
        } else if (upload.state === "failed") {
          this.unfinished.refresh(); // e.g. the server restarted: pick the file again to resume
        }
      });
    }
  }

  uploadRow(upload) {
    const li = document.createElement("li");
    li.className = "upload";
    const name = document.createElement("bdi");
    name.className = "upload-name";
    name.textContent = upload.file.name;
    const size = document.createElement("span");
    size.className = "hint";
    size.textContent = ` (${megabytes(upload.file.size)}) `;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", upload.file.name);
    const text = document.createElement("span");
    text.className = "upload-status";
    text.setAttribute("aria-live", "polite");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button";
    button.textContent = this.msg.msgCancelUpload;
    button.addEventListener("click", () => this.removeUpload(upload));
    li.append(name, size, bar, " ", text, " ", button);
    return { li, bar, text, button };
  }

  drawUpload(upload) {
    const { li, bar, text, button } = upload.row;
    const m = upload.meter;
    const percent = Math.floor(m.fraction * 100);
    li.dataset.state = upload.state;
    if (upload.fileId !== null) {
      li.dataset.fileId = upload.fileId;
    }
    if (upload.state === "encrypting") {
      bar.value = percent;
      li.dataset.percent = "0";
      text.textContent = fill(this.msg.msgEncrypting, { percent: percentText(percent) });
    } else if (upload.state === "uploading") {
      bar.value = percent;
      li.dataset.percent = String(percent);
      const left = m.left;
      text.textContent = fill(this.msg.msgUploading, {
        percent: percentText(percent),
        speed: fill(this.msg.msgSpeed, { mb: mbNumber(m.rate) }),
        left: left === null ? "…" : duration(left),
      });
    } else if (upload.state === "committed") {
      bar.value = 100;
      li.dataset.percent = "100";
      text.textContent = fill(this.msg.msgUploaded, { percent: percentText(100) });
      button.textContent = this.msg.msgRemoveUpload;
    } else if (upload.state === "failed") {
      const e = upload.error;
      const reason = e instanceof FileChanged ? this.msg.msgFileChanged
        : e instanceof ApiError ? errorText(e, this.msg) : String(e?.message ?? e);
      text.textContent = fill(this.msg.msgUploadFailed, { reason });
      button.textContent = this.msg.msgRemoveUpload;
    }
    this.blockSend();
  }

  async removeUpload(upload) {
    this.uploads = this.uploads.filter((u) => u !== upload);
    upload.row.li.remove();
    this.blockSend();
    if (upload.state !== "committed") {
      await upload.cancel();
    } else {
      this.changed();
    }
    $("compose-files").focus();
  }

  /** Send is possible only once every attached file is committed. */
  blockSend() {
    const waiting = this.uploads.some((u) => u.state !== "committed");
    this.sendButton.disabled = waiting;
    $("compose-uploads-hint").hidden = !waiting;
  }

  /** A fresh (or prefilled) message; `slot` reopens a saved draft. */
  reset({ to = this.presetTo?.splice(0) ?? [], cc = [], subject = "", body = "", handling = "H1", inReplyTo = null, references = [],
    attachments = [], forwarded = [], slot = null }) {
    clearTimeout(this.timer);
    for (const upload of this.uploads) {
      if (upload.state !== "committed") {
        upload.cancel();
      }
    }
    this.uploads = [];
    $("compose-uploads").replaceChildren();
    this.blockSend();
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
      attachments: [...this.context.attachments, ...this.uploads.filter((u) => u.state === "committed").map((u) => u.json)],
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
    if (this.sending || this.uploads.some((u) => u.state !== "committed") || !this.validate()) {
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
      this.countryMembers = found.members;
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
