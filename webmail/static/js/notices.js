// Administrators' notices page: enter one notice, import a CSV or JSON file (all or nothing,
// with an error for each bad row), cancel or reinstate a notice.
import { ApiError, call } from "./api.js";
import { errorText, fill, show } from "./page.js";

const root = document.getElementById("notices-manage");
const msg = root.dataset;
let csrf = null;

async function token() {
  if (csrf === null) {
    csrf = (await call("GET", "/api/v1/session")).csrf_token;
  }
  return csrf;
}

function report(status, error) {
  if (error instanceof ApiError && error.status === 401) {
    window.location.assign("/signin");
    return;
  }
  show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
}

const form = document.getElementById("notice-form");
const formStatus = document.getElementById("notice-form-status");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {};
  for (const name of ["reference", "type", "subject", "subject_kind", "countries", "valid_from", "valid_until", "summary"]) {
    body[name] = form.elements[name].value;
  }
  try {
    const notice = await call("POST", "/api/v1/notices", { body, csrf: await token() });
    show(formStatus, fill(msg.msgAdded, { ref: notice.reference }), "ok");
    form.reset();
  } catch (error) {
    report(formStatus, error);
    const field = error instanceof ApiError && error.field ? form.elements[error.field] : null;
    field?.focus();
  }
});

const importForm = document.getElementById("notice-import");
const importStatus = document.getElementById("notice-import-status");
const importErrors = document.getElementById("notice-import-errors");
importForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  importErrors.replaceChildren();
  const file = document.getElementById("notice-file").files[0];
  if (!file) {
    show(importStatus, msg.msgNoFile, "error");
    return;
  }
  const json = file.name.toLowerCase().endsWith(".json") || file.type === "application/json";
  show(importStatus, msg.msgReading);
  let response;
  try {
    response = await fetch("/api/v1/notices/import", {
      method: "POST",
      headers: {
        Accept: "application/json",
        "Content-Type": json ? "application/json" : "text/csv",
        "X-CSRF-Token": await token(),
      },
      body: await file.text(),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    show(importStatus, msg.msgNetwork, "error");
    return;
  }
  const data = await response.json().catch(() => null);
  if (response.ok) {
    show(importStatus, fill(msg.msgImported, { count: data.imported }), "ok");
    importForm.reset();
    return;
  }
  if (data?.rows) {
    show(importStatus, msg.msgRejected, "error");
    importErrors.replaceChildren(
      ...data.rows.map((row) => {
        const li = document.createElement("li");
        li.textContent = fill(msg.msgRow, { row: row.row, field: row.field ?? "—", message: row.message });
        return li;
      }),
    );
    return;
  }
  const error = data?.error ?? {};
  report(importStatus, new ApiError(response.status, error.code ?? "unknown", error.message ?? "", error.field ?? null));
});

const cancelForm = document.getElementById("notice-cancel");
const cancelStatus = document.getElementById("notice-cancel-status");
cancelForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const cancelled = event.submitter?.value !== "reinstate";
  const ref = cancelForm.elements.reference.value.trim().toUpperCase();
  try {
    await call("POST", `/api/v1/notices/${encodeURIComponent(ref)}/cancel`, {
      body: { cancelled },
      csrf: await token(),
    });
    show(cancelStatus, fill(cancelled ? msg.msgCancelled : msg.msgReinstated, { ref }), "ok");
  } catch (error) {
    report(cancelStatus, error);
  }
});
