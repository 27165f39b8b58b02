// Unfinished uploads on the composer (PROTOCOL.md §8.6). After a page reload or a server restart
// the uploads the member declared but never committed are listed (GET /api/v1/files) with their
// name and progress, read from the resume record sealed to the member's own key. Picking the same
// file again (same name, size and first chunk) resumes it: the file is read again (for its SHA-256),
// the chunks already stored are checked against their stored hashes, and only the missing are sent.
import { ApiError } from "./api.js";
import { b64decode, toHex } from "./crypto/encoding.js";
import { chunkLength } from "./crypto/attachments.js";
import { openResume, sameFile } from "./crypto/resume.js";
import { errorText, fill } from "./page.js";

const $ = (id) => document.getElementById(id);

export class UnfinishedUploads {
  /**
   * @param {import("./mailcore.js").Mail} mail
   * @param {DOMStringMap} msg
   * @param {(file: File, resume: object) => void} start resume the upload of `file`
   * @param {() => Set<string>} busy ids of the uploads this page is running
   */
  constructor(mail, msg, start, busy) {
    this.mail = mail;
    this.msg = msg;
    this.start = start;
    this.busy = busy;
    this.box = $("compose-resume");
    this.list = $("compose-resume-list");
  }

  /** List the unfinished uploads this page is not running. */
  async refresh() {
    let found;
    try {
      found = (await this.mail.api("GET", "/api/v1/files")).uploads;
    } catch (error) {
      if (error instanceof ApiError) {
        return; // the list is a convenience; the composer works without it
      }
      throw error;
    }
    const busy = this.busy();
    const rows = [];
    for (const upload of found) {
      if (busy.has(upload.file_id)) {
        continue;
      }
      const record = openResume(this.mail.keys.encKeys, b64decode(upload.resume));
      if (record !== null && toHex(record.file.fileId) === upload.file_id) {
        const stored = new Map(
          (upload.stored ?? []).map((c) => [c.index, { hash: b64decode(c.hash, 32), nonce: b64decode(c.nonce, 24) }]),
        );
        rows.push(this.row({ record, fileId: upload.file_id, stored, missing: upload.missing }));
      }
    }
    this.list.replaceChildren(...rows);
    this.box.hidden = rows.length === 0;
  }

  row(resume) {
    const d = { ...resume.record.file, name: resume.record.name };
    const li = document.createElement("li");
    li.className = "upload";
    li.dataset.fileId = resume.fileId;
    const left = resume.missing.reduce((sum, i) => sum + chunkLength(i, d.size, d.chunkSize), 0);
    const done = d.size === 0 ? 1 : 1 - left / d.size;
    const name = document.createElement("bdi");
    name.className = "upload-name";
    name.textContent = d.name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = Math.floor(done * 100);
    bar.setAttribute("aria-label", d.name);
    const pick = document.createElement("input");
    pick.type = "file";
    pick.id = `resume-${resume.fileId}`;
    const label = document.createElement("label");
    label.htmlFor = pick.id;
    label.textContent = fill(this.msg.msgResumePick, { name: d.name });
    const text = document.createElement("span");
    text.className = "upload-status";
    text.setAttribute("aria-live", "polite");
    const discard = document.createElement("button");
    discard.type = "button";
    discard.className = "button";
    discard.textContent = this.msg.msgResumeDiscard;
    discard.addEventListener("click", async () => {
      try {
        await this.mail.api("DELETE", `/api/v1/files/${resume.fileId}`);
        li.remove();
        this.box.hidden = this.list.children.length === 0;
      } catch (error) {
        text.textContent = error instanceof ApiError ? errorText(error, this.msg) : String(error);
      }
    });
    pick.addEventListener("change", async () => {
      const file = pick.files?.[0];
      pick.value = "";
      if (file === undefined) {
        return;
      }
      if (!(await sameFile(resume.record, file))) {
        text.textContent = this.msg.msgResumeNotSame;
        return;
      }
      li.remove();
      this.box.hidden = this.list.children.length === 0;
      this.start(file, resume);
    });
    li.append(name, " ", bar, " ", label, " ", pick, " ", text, " ", discard);
    return li;
  }
}
