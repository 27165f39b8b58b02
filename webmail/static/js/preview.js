// Preview of an evidence file that fits in memory: an image (PNG, JPEG, GIF, WebP) or a PDF of at
// most PREVIEW_MAX bytes. The file comes down exactly as for saving (download.js: every chunk
// decrypted and checked against the signed manifest_root, then the signed SHA-256), into memory;
// only once every check passed is its type read from its first bytes (never from its name or the
// declared type), and only those five types are shown: images in an <img>, PDFs in the browser's
// own PDF viewer in an <iframe>, each from a blob: URL revoked when the preview closes.
// The page CSP allows blob: for img-src and frame-src only (docs/threat-model.md).
import { ApiError } from "./api.js";
import { download, failureKey } from "./download.js";
import { errorText, fill } from "./page.js";

export const PREVIEW_MAX = 32 * 1024 * 1024;
const CLAIMED = /^(image\/(png|jpeg|gif|webp)|application\/pdf)$/;
const NAMED = /\.(png|jpe?g|gif|webp|pdf)$/i;

/** Whether to offer a preview: small enough, and said to be an image or PDF (checked again on the bytes). */
export function previewable(descriptor) {
  return descriptor.size <= PREVIEW_MAX && (CLAIMED.test(descriptor.mime) || NAMED.test(descriptor.name));
}

const starts = (bytes, prefix, at = 0) => prefix.every((b, i) => bytes[at + i] === b);
const ascii = (text) => [...text].map((c) => c.charCodeAt(0));

/** The type shown, from the magic bytes of the decrypted content; null for anything else. */
export function sniff(bytes) {
  if (starts(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) {
    return "image/png";
  }
  if (starts(bytes, [0xff, 0xd8, 0xff])) {
    return "image/jpeg";
  }
  if (starts(bytes, ascii("GIF87a")) || starts(bytes, ascii("GIF89a"))) {
    return "image/gif";
  }
  if (starts(bytes, ascii("RIFF")) && starts(bytes, ascii("WEBP"), 8)) {
    return "image/webp";
  }
  if (starts(bytes, ascii("%PDF-"))) {
    return "application/pdf";
  }
  return null;
}

const $ = (id) => document.getElementById(id);
let shown = null; // {url, button} of the open preview

function closed() {
  if (shown !== null) {
    URL.revokeObjectURL(shown.url);
    $("preview-body").replaceChildren();
    const { button } = shown;
    shown = null;
    button.focus();
  }
}

function wire() {
  const dialog = $("preview-dialog");
  if (dialog.dataset.wired) {
    return dialog;
  }
  dialog.dataset.wired = "1";
  dialog.addEventListener("close", closed); // the Close button and Escape (the dialog's cancel)
  $("preview-close").addEventListener("click", () => dialog.close());
  window.addEventListener("hashchange", () => dialog.open && dialog.close()); // e.g. Back: the message goes away
  return dialog;
}

function open(descriptor, blob, type, button) {
  const dialog = wire();
  const url = URL.createObjectURL(new Blob([blob], { type }));
  shown = { url, button };
  let view;
  if (type === "application/pdf") {
    // No sandbox attribute: Chromium does not run its PDF viewer in a sandboxed frame. The blob's
    // type is fixed to application/pdf here, so nothing in it is parsed as HTML or script.
    view = document.createElement("iframe");
    view.className = "preview-pdf";
    view.title = descriptor.name;
    view.referrerPolicy = "no-referrer";
  } else {
    view = document.createElement("img");
    view.className = "preview-image";
    view.alt = descriptor.name;
  }
  view.src = url;
  $("preview-name").textContent = descriptor.name;
  $("preview-body").replaceChildren(view);
  dialog.dataset.type = type;
  dialog.showModal();
  $("preview-close").focus();
}

/**
 * The Preview button of one attachment row, or null when the file is not one to preview.
 * @param {object} descriptor the signed §8.3 descriptor
 * @param {{problem: string|null}} opened the message (nothing is trusted if its sender failed the check)
 * @param {{li: HTMLElement, bar: HTMLProgressElement, status: HTMLElement, msg: DOMStringMap,
 *          progressText: (fraction: number, rate: number) => string}} row
 */
export function previewButton(descriptor, opened, { li, bar, status, msg, progressText }) {
  if (!previewable(descriptor) || opened.problem) {
    return null;
  }
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button preview-button";
  button.textContent = msg.msgPreview;
  button.addEventListener("click", async () => {
    button.disabled = true;
    bar.hidden = false;
    li.dataset.integrity = "checking";
    status.className = "integrity";
    try {
      const { blob, sha256 } = await download(descriptor, {
        progress: (m) => {
          bar.value = Math.floor(m.fraction * 100);
          status.textContent = progressText(m.fraction, m.rate);
        },
      });
      li.dataset.integrity = "verified";
      li.dataset.sha256 = sha256;
      status.className = "integrity ok";
      status.textContent = fill(msg.msgVerifiedFile, { digest: sha256 });
      const type = sniff(new Uint8Array(await blob.slice(0, 16).arrayBuffer()));
      if (type === null) {
        status.textContent += ` ${msg.msgNoPreview}`;
        li.dataset.preview = "refused";
        return;
      }
      li.dataset.preview = type;
      open(descriptor, blob, type, button);
    } catch (error) {
      const key = failureKey(error);
      li.dataset.integrity = "refused";
      status.className = "integrity error";
      const reason = key ? msg[key] : error instanceof ApiError ? errorText(error, msg) : String(error?.message ?? error);
      status.textContent = fill(msg.msgRefusedFile, { reason });
    } finally {
      button.disabled = false;
    }
  });
  return button;
}
