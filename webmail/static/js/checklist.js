// /checklists/{id}: one case copy. The member's keys unlock the case key (their own wrap), which
// opens the label and the notes (PROTOCOL.md §12); notes are sealed and signed here. Items are
// native checkboxes (Tab, Space), ticked on the server with who and when; due times count from
// the case start and overdue items are marked (re-checked every minute). Sharing checks the
// member's keys in the key log and wraps the case key to their current key. Changes by the other
// participants arrive by server-sent events (/api/v1/events, "checklist": no content) and refresh it.
import { ApiError } from "./api.js";
import { Casebook, reasonText, unlockForm } from "./casebook.js";
import { RecipientProblem } from "./mailcore.js";
import { KeyProblem } from "./keyring.js";
import { errorText, fieldError, fill, show } from "./page.js";
import { b64decode, b64encode, fromHex, toHex } from "./crypto/encoding.js";
import { openNote, parseNote, sealNote, wrapCaseKey } from "./crypto/casefile.js";
import { CryptoError } from "./crypto/errors.js";
import { ready } from "./crypto/sodium.js";

const root = document.getElementById("checklist");
const msg = root.dataset;
const caseHex = root.dataset.case;
const caseId = fromHex(caseHex, 16);
const $ = (id) => document.getElementById(id);
const dates = new Intl.DateTimeFormat(document.documentElement.lang, { dateStyle: "medium", timeStyle: "short" });
const book = new Casebook();
let state = null; // the GET /api/v1/checklists/{id} answer
let caseKey = null;

function when(text) {
  return dates.format(new Date(text));
}

function nameOf(memberId) {
  const p = state.participants.find((x) => x.member === memberId);
  return p ? p.name || p.email : memberId;
}

function fail(element, error) {
  show(element, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
}

// --- items -------------------------------------------------------------------------------------

function tickText(tick) {
  if (!tick) {
    return "";
  }
  return fill(tick.done ? msg.msgDoneBy : msg.msgUndoneBy, { name: nameOf(tick.changed_by), date: when(tick.changed_at) });
}

function markDue() {
  const now = Date.now();
  let overdue = 0;
  let done = 0;
  state.template.items.forEach((_, n) => {
    const box = $(`item-${n}`);
    const due = $(`item-${n}-due`);
    const late = !box.checked && new Date(state.due[n]).getTime() < now;
    overdue += late ? 1 : 0;
    done += box.checked ? 1 : 0;
    due.textContent = fill(late ? msg.msgOverdue : msg.msgDue, { date: when(state.due[n]) });
    due.classList.toggle("overdue", late);
    box.closest("li").dataset.overdue = String(late);
  });
  const total = state.template.items.length;
  const parts = [fill(msg.msgProgress, { done, total })];
  if (overdue) {
    parts.push(fill(msg.msgOverdueCount, { count: overdue }));
  }
  show($("case-progress"), parts.join(" · "), overdue ? "error" : "");
}

function renderItems() {
  const ticks = new Map(state.ticks.map((t) => [t.item, t]));
  const blocks = [];
  let list = null;
  let section = null;
  state.template.items.forEach((item, n) => {
    if (list === null || item.section !== section) {
      section = item.section;
      if (section) {
        const h = document.createElement("h3");
        h.textContent = section;
        blocks.push(h);
      }
      list = document.createElement("ul");
      list.className = "checklist-items";
      blocks.push(list);
    }
    const li = document.createElement("li");
    li.className = "checklist-item";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = `item-${n}`;
    box.checked = Boolean(ticks.get(n)?.done);
    box.setAttribute("aria-describedby", `item-${n}-due item-${n}-guidance item-${n}-tick`);
    const labelEl = document.createElement("label");
    labelEl.htmlFor = box.id;
    labelEl.textContent = item.title;
    labelEl.dir = "auto"; // template text and labels may be in another language than the page
    const due = document.createElement("p");
    due.id = `item-${n}-due`;
    due.className = "due";
    const guidance = document.createElement("p");
    guidance.id = `item-${n}-guidance`;
    guidance.className = "hint";
    guidance.textContent = item.guidance;
    guidance.dir = "auto";
    const tick = document.createElement("p");
    tick.id = `item-${n}-tick`;
    tick.className = "hint tick";
    tick.textContent = tickText(ticks.get(n));
    box.addEventListener("change", () => setTick(n, box));
    li.append(box, " ", labelEl, due, guidance, tick);
    list.append(li);
  });
  $("items").replaceChildren(...blocks);
  markDue();
}

async function setTick(n, box) {
  const done = box.checked;
  box.disabled = true;
  try {
    const tick = await book.api("POST", `/api/v1/checklists/${caseHex}/items/${n}`, { done });
    state.ticks = state.ticks.filter((t) => t.item !== n).concat([tick]);
    $(`item-${n}-tick`).textContent = tickText(tick);
  } catch (error) {
    box.checked = !done;
    fail($("case-progress"), error);
    return;
  } finally {
    box.disabled = false;
    box.focus();
  }
  markDue();
}

// --- participants ------------------------------------------------------------------------------

function renderParticipants() {
  $("participants").replaceChildren(
    ...state.participants.map((p) => {
      const li = document.createElement("li");
      const who = document.createElement("bdi");
      who.textContent = p.name ? `${p.name} <${p.email}>` : p.member;
      li.append(who, " ", fill(msg.msgAddedBy, { date: when(p.added_at) }));
      return li;
    }),
  );
}

async function share(event) {
  event.preventDefault();
  const input = $("share-email");
  const error = $("share-error");
  const status = $("share-status");
  fieldError(input, error);
  const email = input.value.trim().toLowerCase();
  if (!email) {
    fieldError(input, error, msg.msgNoEmail);
    input.focus();
    return;
  }
  show(status, msg.msgLoading);
  try {
    const member = await book.recipient(email);
    const { encKid, wrap } = wrapCaseKey(caseKey, caseId, member.verified.keys.encPk);
    const answer = await book.api("POST", `/api/v1/checklists/${caseHex}/participants`, {
      member: toHex(member.verified.uid),
      enc_kid: b64encode(encKid),
      wrap: b64encode(wrap),
    });
    const name = member.verified.approval?.name || email;
    show(status, fill(answer.added ? msg.msgShared : msg.msgAlready, { name }), "ok");
    input.value = "";
    state = await book.api("GET", `/api/v1/checklists/${caseHex}`);
    renderParticipants();
  } catch (problem) {
    show(status, "");
    if (problem instanceof RecipientProblem) {
      fieldError(input, error, problem.reason === "notfound" ? msg.msgMemberNotFound : reasonText(msg, problem.reason));
      input.focus();
    } else {
      fail(status, problem);
    }
  }
}

// --- notes -------------------------------------------------------------------------------------

async function authorKey(authorHex) {
  if (authorHex === book.me.id) {
    return { sigPk: book.keys.sigPk, problem: null };
  }
  try {
    const member = await book.member(authorHex);
    return { sigPk: member.verified.keys.sigPk, problem: member.problem === "revoked" ? null : member.problem };
  } catch (error) {
    if (error instanceof KeyProblem) {
      return { sigPk: null, problem: error.reason };
    }
    throw error;
  }
}

async function loadNotes() {
  const { notes } = await book.api("GET", `/api/v1/checklists/${caseHex}/notes`);
  const rows = [];
  for (const note of notes) {
    const li = document.createElement("li");
    li.className = "case-note";
    li.dataset.id = note.id;
    const head = document.createElement("p");
    head.className = "hint";
    const text = document.createElement("p");
    text.className = "note-text";
    text.dir = "auto";
    try {
      const bytes = b64decode(note.note);
      const authorHex = toHex(parseNote(bytes).authorUid);
      const { sigPk, problem } = await authorKey(authorHex);
      if (sigPk === null || problem) {
        li.classList.add("unverifiable");
        head.textContent = fill(msg.msgUnverifiedAuthor, { reason: problem ? reasonText(msg, problem) : "" });
      } else {
        const opened = openNote(caseKey, caseId, bytes, sigPk);
        head.textContent = `${fill(msg.msgVerifiedAuthor, { name: nameOf(authorHex) })} · ${when(note.created_at)}`;
        text.textContent = opened.text;
      }
    } catch (error) {
      if (!(error instanceof CryptoError)) {
        throw error;
      }
      li.classList.add("unverifiable");
      head.textContent = fill(msg.msgUnreadable, { reason: error.check });
    }
    li.append(head, text);
    rows.push(li);
  }
  $("notes").replaceChildren(...rows);
  if (!notes.length) {
    const li = document.createElement("li");
    li.className = "hint";
    li.textContent = msg.msgNoNotes;
    $("notes").append(li);
  }
}

async function addNote(event) {
  event.preventDefault();
  const input = $("note-text");
  const error = $("note-error");
  const status = $("note-status");
  fieldError(input, error);
  if (!input.value.trim()) {
    fieldError(input, error, msg.msgNoNote);
    input.focus();
    return;
  }
  try {
    const note = sealNote({ caseKey, caseId, authorUid: book.uid, sigSk: book.keys.sigSk, text: input.value });
    await book.api("POST", `/api/v1/checklists/${caseHex}/notes`, { note: b64encode(note) });
    input.value = "";
    show(status, msg.msgNoteSaved, "ok");
    await loadNotes();
  } catch (problem) {
    fail(status, problem);
  }
}

// --- live updates ------------------------------------------------------------------------------

/** Another participant changed the case: take the new ticks and people, and the notes when asked. */
async function refresh(what) {
  state = await book.api("GET", `/api/v1/checklists/${caseHex}`);
  const ticks = new Map(state.ticks.map((t) => [t.item, t]));
  state.template.items.forEach((_, n) => {
    const box = $(`item-${n}`);
    if (!box.disabled) {
      box.checked = Boolean(ticks.get(n)?.done);
    }
    $(`item-${n}-tick`).textContent = tickText(ticks.get(n));
  });
  markDue();
  renderParticipants();
  if (what === "note" || what === "reload") {
    await loadNotes();
  }
}

function listen() {
  const events = new EventSource("/api/v1/events");
  const run = (what) => refresh(what).catch((error) => fail($("case-progress"), error));
  events.addEventListener("checklist", (event) => {
    const data = JSON.parse(event.data);
    if (data.case === caseHex) {
      run(data.what);
    }
  });
  events.addEventListener("reload", () => run("reload"));
  window.addEventListener("pagehide", () => events.close());
}

// --- start -------------------------------------------------------------------------------------

async function opened() {
  try {
    state = await book.api("GET", `/api/v1/checklists/${caseHex}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      show($("unlock-status"), msg.msgNotFound, "error");
      return;
    }
    throw error;
  }
  const own = state.participants.find((p) => p.member === book.me.id);
  try {
    caseKey = book.caseKey(state.case, own);
    $("case-title").textContent = book.label(state.case, own);
  } catch (error) {
    if (!(error instanceof CryptoError)) {
      throw error;
    }
    show($("unlock-status"), fill(msg.msgUnreadable, { reason: error.check }), "error");
    return;
  }
  document.title = `${$("case-title").textContent} · isecom`;
  $("case-facts").textContent = fill(msg.msgVersion, { version: state.template.version, date: when(state.case.starts_at) });
  renderItems();
  renderParticipants();
  $("case-view").hidden = false;
  root.dataset.state = "unlocked";
  await loadNotes();
  listen();
  setInterval(markDue, 60_000);
  $("item-0")?.focus();
}

async function start() {
  await ready();
  await book.session();
  $("share-form").addEventListener("submit", share);
  $("note-form").addEventListener("submit", addNote);
  unlockForm(book, msg, opened);
  root.dataset.ready = "true";
  $("unlock-password").focus();
}

start();
