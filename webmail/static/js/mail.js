// The mailbox page (/mail). The password unlocks the member's keys once; they stay in this page's
// memory (never in storage) and are wiped on sign-out and when the page goes away. Views change
// inside the page with the URL fragment: #folder/NAME, #msg/ID, #compose, #draft/SLOT.
// Lists page metadata from GET /api/v1/mailbox/{folder} and decrypt only the rows shown; new mail
// arrives by server-sent events (/api/v1/events) and refreshes the folder and the title's count.
import { ApiError } from "./api.js";
import { Composer } from "./compose.js";
import { Mail } from "./mailcore.js";
import { showForwarded } from "./forwarded.js";
import { showSmtp } from "./smtpmail.js";
import { reasonText as reasonFor, unlockForm } from "./unlockform.js";
import { errorText, fill, show } from "./page.js";
import { ready } from "./crypto/sodium.js";
import { attachmentRow, revokeSaved } from "./readfiles.js";

const PAGE = 25;
const FOLDERS = ["inbox", "sent", "archive", "trash"];
const root = document.getElementById("mail");
const msg = root.dataset;
const lang = document.documentElement.lang;
const $ = (id) => document.getElementById(id);
const dates = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
const regions = new Intl.DisplayNames([lang], { type: "region" });
const mail = new Mail();
let composer = null;
let view = { folder: "inbox", next: null, rows: [] };
let reading = null; // the opened message on screen
const unread = {};

function reasonText(reason) {
  return reasonFor(msg, reason);
}

function folderName(folder) {
  return document.querySelector(`.folders a[data-folder="${folder}"]`).firstChild.textContent.trim();
}

function dateOf(text) {
  return dates.format(new Date(text));
}

// --- unread counts and the title ---------------------------------------------------------------

async function counts() {
  const page = await mail.api("GET", "/api/v1/mailbox/inbox?limit=1"); // unread: {folder: count}
  Object.assign(unread, { inbox: 0, archive: 0, trash: 0 }, page.unread);
  for (const folder of ["inbox", "archive", "trash"]) {
    const n = unread[folder] ?? 0;
    const span = document.querySelector(`[data-count="${folder}"]`);
    span.textContent = n ? `(${n})` : "";
    span.dataset.value = String(n);
  }
  const n = unread.inbox ?? 0;
  document.title = (n ? fill(msg.msgTitleUnread, { count: n }).replace(/[\u2068\u2069]/g, "") : msg.msgTitle) + " · isecom";
}

// --- lists -------------------------------------------------------------------------------------

function row(entry, opened) {
  const li = document.createElement("li");
  li.className = "message-row";
  li.dataset.id = entry.id;
  li.dataset.unread = String(entry.unread);
  const link = document.createElement("a");
  link.href = `#msg/${entry.id}`;
  const p = opened.payload;
  const who = document.createElement("bdi");
  who.className = "who";
  const subject = document.createElement("bdi");
  subject.className = "subject";
  const handling = document.createElement("span");
  handling.className = "handling-tag";
  if (p) {
    who.textContent = view.folder === "sent" ? p.to.concat(p.cc).map((x) => x.name || x.email).join(", ") : p.from.name;
    subject.textContent = p.subject || msg.msgNoSubject;
    handling.textContent = p.handling;
    handling.dataset.code = p.handling;
  } else {
    who.textContent = "?";
    subject.textContent = fill(msg.msgUnreadable, { reason: opened.error ?? opened.problem ?? "" });
  }
  const when = document.createElement("time");
  when.dateTime = entry.received_at;
  when.textContent = dateOf(entry.received_at);
  link.append(handling, who, subject, when);
  const marks = [];
  if (entry.unread) {
    marks.push(msg.msgUnreadLabel);
  }
  if (entry.starred) {
    marks.push(msg.msgStarredLabel);
    li.classList.add("starred");
  }
  if (opened.problem) {
    li.classList.add("unverifiable");
  }
  link.setAttribute("aria-label", [...marks, who.textContent, subject.textContent, when.textContent].join(", "));
  li.append(link);
  return li;
}

function draftRow(draft) {
  const li = document.createElement("li");
  li.className = "message-row draft-row";
  li.dataset.slot = draft.slot;
  const link = document.createElement("a");
  link.href = `#draft/${draft.slot}`;
  const p = draft.payload;
  const who = document.createElement("bdi");
  who.className = "who";
  who.textContent = p ? [...p.to, ...p.cc].map((x) => x.email).join(", ") : "?";
  const subject = document.createElement("bdi");
  subject.className = "subject";
  subject.textContent = p ? p.subject || msg.msgNoSubject : fill(msg.msgUnreadable, { reason: draft.error });
  const when = document.createElement("time");
  when.textContent = dateOf(draft.updated);
  link.append(who, subject, when);
  li.append(link);
  return li;
}

let drafts = [];

async function loadDrafts() {
  drafts = await mail.drafts();
  const span = document.querySelector('[data-count="drafts"]');
  span.textContent = drafts.length ? `(${drafts.length})` : "";
  if (view.folder === "drafts" && !$("list-view").hidden) {
    $("message-list").replaceChildren(...drafts.map(draftRow));
    show($("list-status"), drafts.length ? "" : msg.msgEmpty);
  }
}

async function loadFolder(folder, { more = false } = {}) {
  const list = $("message-list");
  const status = $("list-status");
  if (!more) {
    view = { folder, next: null, rows: [] };
    $("list-title").textContent = folderName(folder);
    $("trash-actions").hidden = folder !== "trash";
    list.replaceChildren();
  }
  show(status, msg.msgLoading);
  $("load-more").hidden = true;
  try {
    if (folder === "drafts") {
      await loadDrafts();
      return;
    }
    const before = more && view.next !== null ? `&before=${view.next}` : "";
    const page = await mail.api("GET", `/api/v1/mailbox/${folder}?limit=${PAGE}${before}`);
    const opened = await Promise.all(page.messages.map((entry) => mail.open(entry.id)));
    if (view.folder !== folder) {
      return; // the member moved on meanwhile
    }
    page.messages.forEach((entry, i) => {
      opened[i].entry = entry; // the newest flags
      view.rows.push(entry);
      list.append(row(entry, opened[i]));
    });
    view.next = page.next;
    $("load-more").hidden = page.next === null;
    show(status, view.rows.length ? "" : msg.msgEmpty);
  } catch (error) {
    show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
  }
}

// --- reading -----------------------------------------------------------------------------------

/** Plain text with web and mail links made clickable; nothing is parsed as HTML. */
function linkify(target, text) {
  const parts = [];
  const pattern = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;
  let at = 0;
  for (const match of text.matchAll(pattern)) {
    parts.push(document.createTextNode(text.slice(at, match.index)));
    const a = document.createElement("a");
    a.href = match[0];
    a.textContent = match[0];
    a.rel = "noopener noreferrer nofollow";
    a.target = "_blank";
    parts.push(a);
    at = match.index + match[0].length;
  }
  parts.push(document.createTextNode(text.slice(at)));
  target.replaceChildren(...parts);
}

function people(list) {
  return list.map((x) => (x.name ? `${x.name} <${x.email}>` : x.email)).join(", ");
}

function showBadge(opened) {
  const badge = $("read-badge");
  if (opened.problem) {
    badge.textContent = reasonText(opened.problem);
    badge.className = "badge blocked";
    badge.dataset.state = "refused";
    return;
  }
  const state = opened.sender ? mail.ring.badge(opened.sender) : "verified";
  badge.textContent = { verified: msg.msgBadgeVerified, unverified: msg.msgBadgeUnverified, changed: msg.msgBadgeChanged }[state];
  badge.className = `badge ${state === "verified" ? "" : state === "changed" ? "blocked" : "unverified"}`.trim();
  badge.dataset.state = state;
}

async function openView(id) {
  showView("read-view");
  const status = $("read-status");
  $("read-details").hidden = true;
  $("read-subject").textContent = "";
  $("read-handling").textContent = "";
  show(status, msg.msgLoading);
  let opened;
  try {
    opened = await mail.open(id);
  } catch (error) {
    show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
    return;
  }
  reading = opened;
  const p = opened.payload;
  $("read-back").href = `#folder/${opened.entry.folder}`;
  if (p === null) {
    $("read-subject").textContent = msg.msgNoSubject;
    show(status, fill(msg.msgUnreadable, { reason: opened.problem ? reasonText(opened.problem) : opened.error }), "error");
    root.dataset.reading = "refused";
    $("read-subject").focus();
    return;
  }
  show(status, "");
  $("read-handling").textContent = msg["msgHandling" + p.handling] ?? p.handling;
  $("read-handling").dataset.code = p.handling;
  $("read-subject").textContent = p.subject || msg.msgNoSubject;
  const approval = opened.sender?.verified.approval;
  $("read-from").textContent = `${p.from.name} <${p.from.email}>`;
  $("read-agency").textContent = approval?.agency ?? mail.me.agency ?? "";
  const country = approval?.country ?? mail.me.country ?? "";
  $("read-country").textContent = country ? regions.of(country) ?? country : "";
  $("read-to").textContent = people(p.to);
  $("read-cc").textContent = people(p.cc);
  $("read-date").textContent = dateOf(p.date);
  showBadge(opened);
  const problem = $("read-problem");
  problem.hidden = !opened.problem;
  problem.textContent = opened.problem ? fill(msg.msgUnverifiable, { reason: reasonText(opened.problem) }) : "";
  $("read-signature").textContent = opened.problem ? "" : msg.msgVerifiedSender;
  root.dataset.reading = opened.problem ? "unverifiable" : "verified";
  linkify($("read-body"), p.body);
  const files = $("read-attachments");
  $("read-attachments-box").hidden = p.attachments.length === 0;
  files.replaceChildren(...p.attachments.map((a) => attachmentRow(a, opened, msg)));
  showThread(opened);
  showForwarded(p, mail, msg, { date: dateOf, region: (code) => regions.of(code) ?? code, reason: reasonText }).catch(() => {});
  showSmtp(opened, $, msg); // arrived by SMTP: the flag, envelope sender, inert HTML, MIME parts
  $("read-star").textContent = opened.entry.starred ? msg.msgUnstar : msg.msgStar;
  const inTrash = opened.entry.folder === "trash";
  $("read-archive").hidden = opened.entry.folder === "archive" || inTrash;
  $("read-details").hidden = false;
  $("read-subject").focus();
  const tag = opened.problem ? null : mail.threadTag(p, id);
  const change = {};
  if (opened.entry.unread) {
    change.unread = false;
  }
  if (tag && opened.entry.thread !== tag) {
    change.thread = tag;
  }
  if (Object.keys(change).length) {
    const answer = await mail.api("PATCH", `/api/v1/messages/${id}`, change);
    opened.entry = answer.message;
    await counts();
  }
}

// --- attachments -------------------------------------------------------------------------------

function showThread(opened) {
  const p = opened.payload;
  const rootId = p.references[0] ?? p.in_reply_to ?? opened.id;
  const related = [...mail.opened.values()].filter(
    (o) => o.payload && o.id !== opened.id && (o.id === rootId || o.payload.references[0] === rootId || o.payload.in_reply_to === rootId),
  );
  $("read-thread-box").hidden = related.length === 0;
  $("read-thread-title").textContent = fill(msg.msgThread, { count: related.length + 1 });
  related.sort((a, b) => a.payload.date.localeCompare(b.payload.date));
  $("read-thread").replaceChildren(
    ...related.map((o) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = `#msg/${o.id}`;
      a.textContent = `${o.payload.from.name} — ${o.payload.subject || msg.msgNoSubject} — ${dateOf(o.payload.date)}`;
      li.append(a);
      return li;
    }),
  );
}

function quote(p) {
  const head = fill(msg.msgWrote, { date: dateOf(p.date), name: p.from.name }).replace(/[\u2068\u2069]/g, "");
  return `\n\n${head}\n${p.body.split("\n").map((l) => `> ${l}`).join("\n")}`;
}

function prefixed(prefix, subject) {
  return subject.startsWith(prefix) ? subject : `${prefix} ${subject}`;
}

function answer(kind) {
  const o = reading;
  const p = o.payload;
  const me = mail.me.email.toLowerCase();
  const others = (list) => list.map((x) => x.email).filter((e) => e.toLowerCase() !== me);
  const thread = { inReplyTo: o.id, references: [...p.references, o.id].slice(-100), handling: p.handling };
  let fields;
  if (kind === "forward") {
    const head = fill(msg.msgForwardedHeader, { name: p.from.name, date: dateOf(p.date), subject: p.subject });
    fields = {
      subject: prefixed(msg.msgForwardPrefix, p.subject),
      body: `\n\n${head.replace(/[\u2068\u2069]/g, "")}\n${p.body.split("\n").map((l) => `> ${l}`).join("\n")}`,
      handling: p.handling,
      attachments: p.attachments,
      forwarded: [...p.forwarded, { msg_id: o.id, from: p.from.uid, date: p.date }].slice(-100),
    };
  } else {
    const from = p.from.email.toLowerCase() === me ? others(p.to) : [p.from.email];
    const to = kind === "reply-all" ? [...new Set([...from, ...others(p.to)])] : from;
    fields = {
      ...thread,
      to,
      cc: kind === "reply-all" ? others(p.cc).filter((e) => !to.includes(e)) : [],
      subject: prefixed(msg.msgReplyPrefix, p.subject),
      body: quote(p),
    };
  }
  composer.reset(fields);
  go("#compose", { keep: true });
}

async function act(action) {
  const o = reading;
  const status = $("read-status");
  try {
    if (action === "reply" || action === "reply-all" || action === "forward") {
      answer(action);
      return;
    }
    if (action === "star" || action === "unread") {
      const change = action === "star" ? { starred: !o.entry.starred } : { unread: true };
      o.entry = (await mail.api("PATCH", `/api/v1/messages/${o.id}`, change)).message;
      if (action === "unread") {
        await counts();
        go(`#folder/${o.entry.folder}`);
        return;
      }
      $("read-star").textContent = o.entry.starred ? msg.msgUnstar : msg.msgStar;
      return;
    }
    if (action === "archive") {
      o.entry = (await mail.api("PATCH", `/api/v1/messages/${o.id}`, { folder: "archive" })).message;
      done(msg.msgArchived, o);
      return;
    }
    if (action === "delete") {
      if (o.entry.folder === "trash" && !window.confirm(msg.msgConfirmDelete)) {
        return;
      }
      const { result } = await mail.api("DELETE", `/api/v1/messages/${o.id}`);
      if (result !== "trash") {
        mail.opened.delete(o.id);
      }
      done(result === "trash" ? msg.msgTrashed : msg.msgDeleted, o);
    }
  } catch (error) {
    show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
  }
}

let notice = "";

function done(text, o) {
  notice = text;
  o.entry = { ...o.entry, folder: text === msg.msgTrashed ? "trash" : o.entry.folder };
  go(`#folder/${view.folder}`);
}

// --- views -------------------------------------------------------------------------------------

function showView(id) {
  for (const name of ["list-view", "read-view", "compose-view"]) {
    $(name).hidden = name !== id;
  }
}

let keepCompose = false;

function go(hash, { keep = false } = {}) {
  keepCompose = keep;
  if (window.location.hash === hash) {
    route();
  } else {
    window.location.hash = hash;
  }
}

async function route() {
  if (mail.keys === null) {
    return;
  }
  const [kind, arg] = window.location.hash.replace(/^#/, "").split("/");
  for (const a of document.querySelectorAll(".folders a[data-folder]")) {
    a.toggleAttribute("aria-current", kind === "folder" && a.dataset.folder === arg);
  }
  if (kind === "msg" && arg) {
    await openView(arg);
  } else if (kind === "compose" || kind === "draft") {
    if (kind === "draft") {
      const draft = drafts.find((d) => d.slot === arg);
      const p = draft?.payload;
      composer.reset(
        p
          ? { slot: arg, to: p.to.map((x) => x.email), cc: p.cc.map((x) => x.email), subject: p.subject, body: p.body,
              handling: p.handling, inReplyTo: p.in_reply_to, references: p.references, attachments: p.attachments,
              forwarded: p.forwarded }
          : {},
      );
    } else if (!keepCompose) {
      composer.reset({});
    }
    keepCompose = false;
    showView("compose-view");
    $("compose-title").focus();
  } else {
    const folder = [...FOLDERS, "drafts"].includes(arg) ? arg : "inbox";
    showView("list-view");
    await loadFolder(folder);
    if (notice) {
      show($("list-status"), notice, "ok");
      notice = "";
    }
    $("list-title").focus();
  }
}

// --- live updates ------------------------------------------------------------------------------

function listen() {
  const events = new EventSource("/api/v1/events");
  const refresh = async (event) => {
    let data = {};
    try {
      data = JSON.parse(event.data);
    } catch {
      data = {};
    }
    await counts();
    if (!$("list-view").hidden && (data.folder === view.folder || event.type === "reload")) {
      await loadFolder(view.folder);
      if (data.folder === "inbox") {
        show($("list-status"), msg.msgNewMail, "ok");
      }
    }
  };
  events.addEventListener("mail", refresh);
  events.addEventListener("reload", refresh);
  window.addEventListener("pagehide", () => events.close());
}

// --- start -------------------------------------------------------------------------------------

/** Once the keys are unlocked: the mailbox, the composer and live updates. */
async function opened() {
  $("mailbox").hidden = false;
  root.dataset.state = "unlocked";
  composer = new Composer(mail, msg, { sent: () => go("#folder/sent"), reasonText, drafts: () => loadDrafts() });
  composer.suggest();
  window.addEventListener("hashchange", () => route());
  listen();
  await Promise.all([counts(), loadDrafts()]);
  await route();
}

async function start() {
  await ready();
  await mail.session();
  unlockForm(mail, msg, opened);
  $("load-more").addEventListener("click", () => loadFolder(view.folder, { more: true }));
  $("empty-trash").addEventListener("click", async () => {
    if (!window.confirm(msg.msgConfirmEmpty)) {
      return;
    }
    try {
      const { deleted } = await mail.api("POST", "/api/v1/mailbox/trash/empty");
      notice = fill(msg.msgEmptied, { count: deleted });
      for (const [id, o] of mail.opened) {
        if (o.entry.folder === "trash") {
          mail.opened.delete(id);
        }
      }
      await counts();
      go("#folder/trash");
    } catch (error) {
      show($("list-status"), error instanceof ApiError ? errorText(error, msg) : String(error), "error");
    }
  });
  for (const button of document.querySelectorAll("#read-details [data-action]")) {
    button.addEventListener("click", () => act(button.dataset.action));
  }
  $("mail-sign-out").addEventListener("click", async () => {
    mail.close();
    await mail.api("POST", "/api/v1/auth/logout").catch(() => null);
    window.location.assign("/signin");
  });
  window.addEventListener("pagehide", () => {
    mail.close();
    revokeSaved();
  });
  root.dataset.ready = "true";
  $("unlock-password").focus();
}

start();
