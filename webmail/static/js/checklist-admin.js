// /admin/checklist: the 24-hour checklist template editor. Loads the newest version, edits its
// items in the page (add, remove, reorder with buttons, so all by keyboard) and saves them as a
// new version (POST /api/v1/checklist/template, administrators only).
import { ApiError, call } from "./api.js";
import { errorText, fill, show } from "./page.js";

const root = document.getElementById("checklist-admin");
const msg = root.dataset;
const $ = (id) => document.getElementById(id);
const dates = new Intl.DateTimeFormat(document.documentElement.lang, { dateStyle: "medium", timeStyle: "short" });
let csrf = null;
let counter = 0;

function field(labelText, control) {
  const id = `f${++counter}`;
  const wrap = document.createElement("p");
  const labelEl = document.createElement("label");
  labelEl.htmlFor = id;
  labelEl.textContent = labelText;
  control.id = id;
  wrap.append(labelEl, control);
  return wrap;
}

function number() {
  document.querySelectorAll("#template-items fieldset").forEach((set, i) => {
    set.querySelector("legend").textContent = fill(msg.msgItem, { n: i + 1 }).replace(/[\u2068\u2069]/g, "");
  });
}

function itemRow(item = { section: "", title: "", guidance: "", due_hours: 24 }) {
  const set = document.createElement("fieldset");
  set.className = "card template-item";
  set.append(document.createElement("legend"));
  const section = Object.assign(document.createElement("input"), { type: "text", value: item.section, maxLength: 100, dir: "auto" });
  section.dataset.name = "section";
  const title = Object.assign(document.createElement("input"), { type: "text", value: item.title, maxLength: 200, required: true, dir: "auto" });
  title.dataset.name = "title";
  const guidance = Object.assign(document.createElement("textarea"), { value: item.guidance, maxLength: 2000, rows: 3, dir: "auto" });
  guidance.dataset.name = "guidance";
  const due = Object.assign(document.createElement("input"), { type: "number", min: 0, max: 720, step: 1, value: item.due_hours });
  due.dataset.name = "due_hours";
  const actions = document.createElement("p");
  actions.className = "actions";
  const button = (text, action) => {
    const b = Object.assign(document.createElement("button"), { type: "button", className: "button", textContent: text });
    b.addEventListener("click", () => {
      action();
      number();
      b.focus();
    });
    return b;
  };
  actions.append(
    button(msg.msgUp, () => set.previousElementSibling?.before(set)),
    button(msg.msgDown, () => set.nextElementSibling?.after(set)),
    button(msg.msgRemove, () => set.remove()),
  );
  set.append(
    field(msg.msgSection, section),
    field(msg.msgTitle, title),
    field(msg.msgGuidance, guidance),
    field(msg.msgDueHours, due),
    actions,
  );
  return set;
}

function items() {
  return [...document.querySelectorAll("#template-items fieldset")].map((set) => {
    const value = (name) => set.querySelector(`[data-name="${name}"]`).value;
    return { section: value("section"), title: value("title"), guidance: value("guidance"), due_hours: Number(value("due_hours")) };
  });
}

function describe(template) {
  show($("template-status"), fill(msg.msgVersion, { version: template.version, date: dates.format(new Date(template.created_at)) }));
}

async function start() {
  const status = $("template-status");
  if (msg.admin !== "true") {
    show(status, msg.msgForbidden, "error");
    root.dataset.ready = "true";
    return;
  }
  try {
    csrf = (await call("GET", "/api/v1/session")).csrf_token;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      window.location.assign("/signin");
      return;
    }
    throw error;
  }
  let template = null;
  try {
    template = await call("GET", "/api/v1/checklist/template");
    describe(template);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) {
      show(status, errorText(error, msg), "error");
      return;
    }
    show(status, msg.msgNone);
  }
  $("template-items").replaceChildren(...(template ? template.items : [undefined]).map((i) => itemRow(i)));
  number();
  $("add-item").addEventListener("click", () => {
    const row = itemRow();
    $("template-items").append(row);
    number();
    row.querySelector("input").focus();
  });
  $("template-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const saved = await call("POST", "/api/v1/checklist/template", { body: { items: items() }, csrf });
      show(status, fill(msg.msgSaved, { version: saved.version }), "ok");
    } catch (error) {
      show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
    }
    status.focus?.();
  });
  $("template-form").hidden = false;
  root.dataset.ready = "true";
}

start();
