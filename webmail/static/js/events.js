// Administrators create, edit and delete events on /events (POST, PUT, DELETE /api/v1/meetings).
// Documents are typed one per line as "title | address".
import { ApiError, call } from "./api.js";
import { errorText, show } from "./page.js";

const form = document.getElementById("event-form");
const msg = form.dataset;
const status = document.getElementById("event-status");
const title = document.getElementById("event-form-title");
let editing = null;
let csrf = null;

async function api(method, path, body) {
  csrf ??= (await call("GET", "/api/v1/session")).csrf_token;
  return call(method, path, { body, csrf });
}

function documents() {
  const out = [];
  for (const line of form.elements.documents.value.split("\n").map((s) => s.trim()).filter(Boolean)) {
    const at = line.lastIndexOf("|");
    if (at < 1) {
      throw new Error(msg.msgBadDocument);
    }
    out.push({ title: line.slice(0, at).trim(), url: line.slice(at + 1).trim() });
  }
  return out;
}

function refused(error) {
  if (error instanceof ApiError && error.status === 401) {
    window.location.assign("/signin");
    return;
  }
  show(status, error instanceof ApiError ? errorText(error, msg) : String(error.message ?? error), "error");
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const body = {
      kind: form.elements.kind.value,
      title: form.elements.title.value,
      starts_on: form.elements.starts_on.value,
      ends_on: form.elements.ends_on.value,
      place: form.elements.place.value,
      description: form.elements.description.value,
      documents: documents(),
    };
    show(status, msg.msgSaving);
    await (editing ? api("PUT", `/api/v1/meetings/${editing}`, body) : api("POST", "/api/v1/meetings", body));
    window.location.reload();
  } catch (error) {
    refused(error);
  }
});

form.addEventListener("reset", () => {
  editing = null;
  title.textContent = title.dataset.new;
});

for (const button of document.querySelectorAll("button[data-edit]")) {
  button.addEventListener("click", () => {
    const e = JSON.parse(button.dataset.json);
    editing = button.dataset.edit;
    for (const name of ["kind", "title", "starts_on", "ends_on", "place", "description"]) {
      form.elements[name].value = e[name];
    }
    form.elements.documents.value = e.documents.map((d) => `${d.title} | ${d.url}`).join("\n");
    title.textContent = title.dataset.edit;
    title.focus();
  });
}

for (const button of document.querySelectorAll("button[data-delete]")) {
  button.addEventListener("click", async () => {
    if (!window.confirm(msg.msgConfirmDelete)) {
      return;
    }
    try {
      await api("DELETE", `/api/v1/meetings/${button.dataset.delete}`);
      window.location.reload();
    } catch (error) {
      refused(error);
    }
  });
}
