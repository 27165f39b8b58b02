// The attachments of the message being read (PROTOCOL.md §8): a row per file with its name and
// size, a download that decrypts and verifies in workers (download.js) and offers the file only
// once every check passed — straight to disk for a large file (the save picker, or a service
// worker's stream: savestream.js) — and a preview for images and PDFs that fit in memory
// (preview.js).
import { ApiError } from "./api.js";
import { mbNumber, megabytes, percentText } from "./compose.js";
import { CryptoError } from "./crypto/errors.js";
import { download, failureKey, pickTarget, wantsDisk } from "./download.js";
import { errorText, fill } from "./page.js";
import { previewButton } from "./preview.js";
import { canStream, streamTarget } from "./savestream.js";

/** Above this size, without a save picker, a download streams through the service worker. */
export const STREAM_ABOVE = 64 * 1024 * 1024;

let saved = []; // object URLs of verified files, revoked soon after

/** Revoke every object URL still offered (the page is going away). */
export function revokeSaved() {
  saved.forEach((url) => URL.revokeObjectURL(url));
  saved = [];
}

/**
 * One attachment of the read view: name, size, download (and preview for images and PDFs).
 * @param {object} descriptor the §8.3 descriptor from the signed payload
 * @param {object} opened the opened message (a sender whose keys failed: nothing is trusted)
 * @param {DOMStringMap} msg the page's messages
 * @returns {HTMLLIElement}
 */
export function attachmentRow(descriptor, opened, msg) {
  const li = document.createElement("li");
  li.className = "attachment";
  const name = document.createElement("bdi");
  name.className = "attachment-name";
  name.textContent = descriptor.name || "?";
  const size = document.createElement("span");
  size.className = "hint";
  size.textContent = ` (${megabytes(descriptor.size)}) `;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button";
  button.textContent = msg.msgDownload;
  button.disabled = Boolean(opened.problem); // a sender whose keys failed: nothing is trusted
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.value = 0;
  bar.hidden = true;
  bar.setAttribute("aria-label", descriptor.name);
  const status = document.createElement("span");
  status.className = "integrity";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  li.append(name, size, button, " ", bar, " ", status);
  button.addEventListener("click", () => fetchAttachment(descriptor, { li, button, bar, status }, msg));
  const progressText = (fraction, rate) => fill(msg.msgDownloading, {
    percent: percentText(Math.floor(fraction * 100)), speed: fill(msg.msgSpeed, { mb: mbNumber(rate) }) });
  const look = previewButton(descriptor, opened, { li, bar, status, msg, progressText }); // images and PDFs
  if (look) {
    button.after(" ", look);
  }
  return li;
}

async function fetchAttachment(descriptor, { li, button, bar, status }, msg) {
  button.disabled = true;
  bar.hidden = false;
  li.dataset.integrity = "checking";
  status.className = "integrity";
  status.textContent = "";
  // The save picker needs the click's user activation: ask before anything else is awaited.
  // Without a picker (Firefox, Safari) a large file streams to the downloads folder through a
  // service worker (savestream.js), never whole in memory.
  const target = wantsDisk(descriptor)
    ? await pickTarget(descriptor)
    : descriptor.size > STREAM_ABOVE && canStream()
      ? await streamTarget(descriptor)
      : null;
  try {
    const { blob, sha256 } = await download(descriptor, {
      target,
      progress: (m) => {
        bar.value = Math.floor(m.fraction * 100);
        status.textContent = fill(msg.msgDownloading, {
          percent: percentText(Math.floor(m.fraction * 100)),
          speed: fill(msg.msgSpeed, { mb: mbNumber(m.rate) }),
        });
      },
    });
    bar.value = 100;
    li.dataset.integrity = "verified";
    li.dataset.sha256 = sha256;
    status.className = "integrity ok";
    status.textContent = fill(msg.msgVerifiedFile, { digest: sha256 });
    if (blob !== null) {
      const url = URL.createObjectURL(blob);
      saved.push(url);
      const link = document.createElement("a");
      link.href = url;
      link.download = descriptor.name.replace(/[/\\]/g, "_") || "attachment";
      link.textContent = msg.msgSaveFile;
      link.className = "save-link";
      li.append(" ", link);
      link.click();
      setTimeout(() => {
        URL.revokeObjectURL(url);
        saved = saved.filter((u) => u !== url);
        link.remove();
      }, 60_000);
    }
  } catch (error) {
    const key = failureKey(error);
    li.dataset.integrity = "refused";
    li.dataset.check = error instanceof CryptoError ? error.check : "";
    status.className = "integrity error";
    const reason = key ? msg[key] : error instanceof ApiError ? errorText(error, msg) : String(error?.message ?? error);
    status.textContent = fill(msg.msgRefusedFile, { reason });
  } finally {
    button.disabled = false;
  }
}
