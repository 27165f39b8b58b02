// /checklists: the member's case copies (labels decrypted here) and "start a new case": a random
// case id and key, the label sealed under the key, the key wrapped to the member's own current
// key from the key log (PROTOCOL.md §12). The server gets ciphertext, the start time and the wrap.
import { ApiError } from "./api.js";
import { Casebook, unlockForm } from "./casebook.js";
import { errorText, fieldError, fill, show } from "./page.js";
import { b64encode, toHex } from "./crypto/encoding.js";
import { caseCommitment, newCase, sealLabel, wrapCaseKey } from "./crypto/casefile.js";
import { CryptoError } from "./crypto/errors.js";
import { ready } from "./crypto/sodium.js";

const root = document.getElementById("checklists");
const msg = root.dataset;
const $ = (id) => document.getElementById(id);
const dates = new Intl.DateTimeFormat(document.documentElement.lang, { dateStyle: "medium", timeStyle: "short" });
const book = new Casebook();

function localNow() {
  const now = new Date();
  now.setSeconds(0, 0);
  return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

async function loadCases() {
  const status = $("cases-status");
  show(status, msg.msgLoading);
  const { cases } = await book.api("GET", "/api/v1/checklists");
  const rows = [];
  for (const c of cases) {
    const li = document.createElement("li");
    li.className = "case-row";
    li.dataset.id = c.id;
    const link = document.createElement("a");
    link.href = `/checklists/${c.id}`;
    const name = document.createElement("bdi");
    name.className = "case-label";
    try {
      name.textContent = book.label(c, c);
    } catch (error) {
      if (!(error instanceof CryptoError)) {
        throw error;
      }
      name.textContent = fill(msg.msgUnreadable, { reason: error.check });
    }
    const when = document.createElement("time");
    when.dateTime = c.starts_at;
    when.textContent = fill(msg.msgStarted, { date: dates.format(new Date(c.starts_at)) });
    const progress = document.createElement("span");
    progress.className = "case-progress";
    progress.textContent = fill(msg.msgProgress, { done: c.ticked, total: c.items });
    when.className = "hint";
    link.append(name, " ", progress, " ", when);
    li.append(link);
    rows.push(li);
  }
  $("case-list").replaceChildren(...rows);
  show(status, cases.length ? "" : msg.msgEmpty);
}

async function startCase(event) {
  event.preventDefault();
  const labelInput = $("case-label");
  const startInput = $("case-start");
  const status = $("start-status");
  fieldError(labelInput, $("case-label-error"));
  fieldError(startInput, $("case-start-error"));
  const text = labelInput.value.trim();
  if (!text) {
    fieldError(labelInput, $("case-label-error"), msg.msgNoLabel);
    labelInput.focus();
    return;
  }
  const start = new Date(startInput.value);
  if (!startInput.value || Number.isNaN(start.getTime())) {
    fieldError(startInput, $("case-start-error"), msg.msgNoStart);
    startInput.focus();
    return;
  }
  show(status, msg.msgStarting);
  try {
    const template = await book.api("GET", "/api/v1/checklist/template");
    const { caseId, caseKey } = newCase();
    const { encKid, wrap } = wrapCaseKey(caseKey, caseId, book.current.pk);
    const id = toHex(caseId);
    await book.api("POST", "/api/v1/checklists", {
      id,
      version: template.version,
      starts_at: start.toISOString(),
      label: b64encode(sealLabel(caseKey, caseId, text)),
      key_commit: b64encode(caseCommitment(caseKey, caseId)),
      enc_kid: b64encode(encKid),
      wrap: b64encode(wrap),
    });
    window.location.assign(`/checklists/${id}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      show(status, msg.msgNoTemplate, "error");
    } else if (error instanceof ApiError) {
      show(status, errorText(error, msg), "error");
    } else {
      show(status, String(error), "error");
    }
  }
}

async function start() {
  await ready();
  await book.session();
  $("case-start").value = localNow();
  $("start-form").addEventListener("submit", startCase);
  unlockForm(book, msg, async () => {
    $("cases-view").hidden = false;
    root.dataset.state = "unlocked";
    try {
      await loadCases();
    } catch (error) {
      show($("cases-status"), error instanceof ApiError ? errorText(error, msg) : String(error), "error");
    }
    $("case-label").focus();
  });
  root.dataset.ready = "true";
  $("unlock-password").focus();
}

start();
