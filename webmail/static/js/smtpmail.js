// Mail that arrived over SMTP (PROTOCOL.md §6.6): the gateway sealed the original message as it
// was received, so it is NOT end-to-end encrypted and its From header is whatever the sending
// server wrote. This module turns the opened "smtp" payload into the fields the mailbox shows
// (the MIME is parsed here, in the browser, by postal-mime) and draws the SMTP parts of the read
// view: the flag with the envelope sender, the HTML part sanitized by DOMPurify and shown inert
// in a sandboxed iframe (no scripts, no remote content), the attachments and the original .eml.
import PostalMime from "../vendor/postal-mime/postal-mime.js";
import DOMPurify from "../vendor/dompurify.mjs";
import { b64decode } from "./crypto/encoding.js";
import { CryptoError } from "./crypto/errors.js";

// The iframe has sandbox="" (a unique origin, no scripts, no forms, no top navigation); this
// policy inside it also refuses every fetch: images only from data: URLs, no fonts, no frames.
const FRAME_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";
const SAVED_LIFETIME_MS = 60_000;

/** "Name <address>" or the address of a postal-mime address (groups flattened). */
function named(address) {
  if (!address) {
    return { name: "", email: "" };
  }
  const box = address.group ? address.group[0] ?? { name: address.name, address: "" } : address;
  return { name: box.name || box.address || "", email: box.address || "" };
}

function list(addresses) {
  return (addresses ?? []).flatMap((a) => (a.group ? a.group : [a])).map((a) => ({ name: a.name || "", email: a.address || "" }));
}

/**
 * The opened SMTP payload as the mailbox's message fields, plus what the SMTP view needs.
 * @param {{smtp_from: string, smtp_to: string[], received: string, raw: string}} payload
 */
export async function smtpMessage(payload) {
  const raw = b64decode(payload.raw);
  let parsed;
  try {
    parsed = await PostalMime.parse(raw, { attachmentEncoding: "arraybuffer" });
  } catch {
    throw new CryptoError("payload", "the SMTP message could not be parsed");
  }
  const from = named(parsed.from);
  return {
    payload: {
      from: { name: from.name || payload.smtp_from, email: from.email || payload.smtp_from },
      to: list(parsed.to),
      cc: list(parsed.cc),
      subject: parsed.subject ?? "",
      body: parsed.text ?? "",
      handling: "",
      date: payload.received,
      attachments: [], // end-to-end attachments: none; the MIME parts are listed by showSmtp
      references: [],
      in_reply_to: null,
    },
    smtp: {
      envelopeFrom: payload.smtp_from,
      envelopeTo: payload.smtp_to,
      received: payload.received,
      raw,
      html: parsed.html ?? null,
      hasText: Boolean(parsed.text),
      attachments: parsed.attachments, // inline images too: the inert frame shows none of them
    },
  };
}

// Every reference that could fetch or navigate is dropped: only data: images stay. A link keeps
// its text and shows its target as a tooltip; the member copies it if they trust it.
DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  for (const name of ["src", "poster", "xlink:href"]) {
    const value = node.getAttribute?.(name);
    if (value !== null && value !== undefined && !/^data:image\/(png|gif|jpeg|webp);/i.test(value.trim())) {
      node.removeAttribute(name);
    }
  }
  if (node.hasAttribute?.("href")) {
    node.setAttribute("title", node.getAttribute("href"));
    node.removeAttribute("href");
  }
});

/** The HTML part without scripts, handlers, forms or remote references, as a closed document. */
export function inertDocument(html) {
  const clean = DOMPurify.sanitize(html, {
    FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe", "object", "embed", "link", "meta", "base"],
    FORBID_ATTR: ["srcset", "action", "formaction", "ping", "background"],
    ALLOW_DATA_ATTR: false,
  });
  return (
    `<!doctype html><html><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${FRAME_CSP}">` +
    `<meta name="referrer" content="no-referrer"></head><body>${clean}</body></html>`
  );
}

function save(bytes, name, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type: type || "application/octet-stream" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), SAVED_LIFETIME_MS);
}

/** A file name that is safe to offer: no path, no control characters, never empty. */
function fileName(name, fallback) {
  const cleaned = String(name ?? "")
    .replace(/[\u0000-\u001f\u007f/\\]/g, "_")
    .trim();
  return cleaned || fallback;
}

/**
 * Show or hide the SMTP parts of the read view for `opened` (hidden for end-to-end mail).
 * @param {{id: string, smtp?: any}} opened
 * @param {(id: string) => HTMLElement} $ the page's getElementById
 * @param {DOMStringMap} msg the page's translated texts
 */
export function showSmtp(opened, $, msg) {
  const smtp = opened.smtp ?? null;
  const box = $("read-smtp");
  box.hidden = smtp === null;
  const frameBox = $("read-smtp-html-box");
  const frame = $("read-smtp-html");
  frameBox.hidden = true;
  frame.removeAttribute("srcdoc");
  const filesBox = $("read-smtp-files-box");
  filesBox.hidden = true;
  // The SMTP sender is not a member: there is nobody to reply to inside isecom (forward stays).
  for (const button of document.querySelectorAll('#read-details [data-action="reply"], #read-details [data-action="reply-all"]')) {
    button.hidden = smtp !== null;
  }
  if (smtp === null) {
    return;
  }
  const root = $("mail");
  root.dataset.reading = "smtp";
  $("read-smtp-sender").textContent = smtp.envelopeFrom;
  const badge = $("read-badge");
  badge.textContent = msg.msgSmtpBadge;
  badge.className = "badge unverified";
  badge.dataset.state = "smtp";
  $("read-signature").textContent = msg.msgSmtpUnsigned;
  $("read-agency").textContent = "";
  $("read-country").textContent = "";
  if (smtp.html) {
    frame.setAttribute("sandbox", ""); // again, in case the template was changed: no allow-* at all
    frame.srcdoc = inertDocument(smtp.html);
    frameBox.hidden = false;
  }
  if (!smtp.hasText && smtp.html) {
    $("read-body").textContent = "";
  }
  const files = $("read-smtp-files");
  files.replaceChildren(
    ...smtp.attachments.map((attachment, index) => {
      const li = document.createElement("li");
      const name = fileName(attachment.filename, `attachment-${index + 1}`);
      const label = document.createElement("bdi");
      label.textContent = name;
      const size = document.createElement("span");
      size.className = "hint";
      size.textContent = ` (${attachment.mimeType}, ${attachment.content.byteLength} B) `;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button";
      button.textContent = msg.msgSmtpSave;
      button.setAttribute("aria-label", `${msg.msgSmtpSave}: ${name}`);
      button.addEventListener("click", () => save(attachment.content, name, attachment.mimeType));
      li.append(label, size, button);
      return li;
    }),
  );
  filesBox.hidden = smtp.attachments.length === 0;
  $("read-smtp-eml").onclick = () => save(smtp.raw, `${opened.id}.eml`, "message/rfc822");
}
