// Administration: the audit log (GET /api/v1/admin/audit, filtered, with a CSV export link that
// carries the same filters), the member search (GET /api/v1/admin/members, 25 a page), and
// membership actions and new keys by member id (filled in by "Use" in the search or the log). The API answers 403
// to anyone who is not an administrator; the page then says so and shows none of its tools.
import { ApiError, call } from "./api.js";
import { errorText, fieldError, fill, show } from "./page.js";
import { loadOutbox } from "./outbox-health.js";

const root = document.getElementById("admin");
const msg = root.dataset;
const $ = (id) => document.getElementById(id);
const status = $("admin-status");
const tools = $("admin-tools");
const lang = document.documentElement.lang;
const dates = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "medium" });
const numbers = new Intl.NumberFormat(lang);
const MEMBER_ID = /^[0-9a-f]{32}$/;
const TABLE_LIMIT = 200;
const EXPORT_LIMIT = 100000;
const MAX_REASON = 2000;

let csrf = null;
let shown = new URLSearchParams(); // the filters of the table on screen

async function api(method, path, body) {
  try {
    return await call(method, path, { body, csrf });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      window.location.assign("/signin");
      return new Promise(() => {}); // the page is going away
    }
    throw error;
  }
}

// --- the audit log -------------------------------------------------------------------------------

const filters = $("audit-filters");
const action = $("audit-action");
const subject = $("audit-subject");
const since = $("audit-since");
const until = $("audit-until");
const csv = $("audit-csv");
const rows = $("audit-rows");
const count = $("audit-count");

/** Midnight at the start of a local calendar day ("2026-11-28"), plus ``days``, as ISO 8601 UTC. */
function startOfDay(value, days = 0) {
  const [year, month, day] = value.split("-").map(Number);
  return new Date(year, month - 1, day + days).toISOString();
}

/** The query of the filters, or null after showing what is wrong. "until" includes its day. */
function query() {
  for (const [input, message] of [
    [subject, $("audit-subject-error")],
    [since, $("audit-since-error")],
    [until, $("audit-until-error")],
  ]) {
    fieldError(input, message);
  }
  const params = new URLSearchParams();
  const prefix = action.value.trim();
  const member = subject.value.trim().toLowerCase();
  if (prefix) {
    params.set("action", prefix);
  }
  if (member && !MEMBER_ID.test(member)) {
    fieldError(subject, $("audit-subject-error"), msg.msgMemberId);
    subject.focus();
    return null;
  }
  if (member) {
    params.set("subject", member);
  }
  for (const [input, name] of [
    [since, "since"],
    [until, "until"],
  ]) {
    if (input.validity.badInput) {
      fieldError(input, $(`audit-${name}-error`), msg.msgBadDate);
      input.focus();
      return null;
    }
  }
  if (since.value && until.value && until.value < since.value) {
    fieldError(until, $("audit-until-error"), msg.msgDateOrder);
    until.focus();
    return null;
  }
  if (since.value) {
    params.set("since", startOfDay(since.value));
  }
  if (until.value) {
    params.set("until", startOfDay(until.value, 1));
  }
  return params;
}

function cell(...content) {
  const td = document.createElement("td");
  td.append(...content);
  return td;
}

function code(text) {
  const element = document.createElement("code");
  element.className = "id";
  element.dir = "ltr";
  element.translate = false;
  element.textContent = text;
  return element;
}

/** A button that puts a member id into the two forms of this page. */
function useButton(id) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button small";
  button.textContent = msg.msgUseId;
  button.setAttribute("aria-label", fill(msg.msgUseIdLabel, { id }));
  button.addEventListener("click", () => {
    for (const input of document.querySelectorAll("input.member-id")) {
      input.value = id;
      input.dispatchEvent(new Event("input"));
    }
    $("membership-id").focus();
  });
  return button;
}

function details(detail) {
  const entries = Object.entries(detail ?? {});
  if (entries.length === 0) {
    return "";
  }
  const list = document.createElement("dl");
  list.className = "detail";
  for (const [key, value] of entries) {
    const term = document.createElement("dt");
    term.textContent = key;
    const description = document.createElement("dd");
    description.textContent = typeof value === "string" ? value : JSON.stringify(value);
    list.append(term, description);
  }
  return list;
}

function row(entry) {
  const tr = document.createElement("tr");
  const time = document.createElement("time");
  time.dateTime = entry.at;
  time.textContent = dates.format(new Date(entry.at));
  const about = entry.subject ? [code(entry.subject), document.createElement("br"), useButton(entry.subject)] : [];
  tr.append(
    cell(time),
    cell(code(entry.action)),
    cell(...about),
    cell(entry.actor ? code(entry.actor) : msg.msgSystem),
    cell(details(entry.detail)),
  );
  return tr;
}

async function loadAudit(params) {
  const table = new URLSearchParams(params);
  table.set("limit", String(TABLE_LIMIT));
  const exported = new URLSearchParams(params);
  exported.set("limit", String(EXPORT_LIMIT));
  exported.set("format", "csv");
  const { entries } = await api("GET", `/api/v1/admin/audit?${table}`);
  shown = params;
  csv.href = `/api/v1/admin/audit?${exported}`;
  rows.replaceChildren(...entries.map(row));
  show(
    count,
    entries.length === 0
      ? msg.msgNoEntries
      : fill(msg.msgEntries, { count: numbers.format(entries.length), limit: numbers.format(TABLE_LIMIT) }),
  );
}

filters.addEventListener("submit", async (event) => {
  event.preventDefault();
  const params = query();
  if (params === null) {
    return;
  }
  const button = filters.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await loadAudit(params);
  } catch (error) {
    failedField(
      error,
      { subject: [subject, msg.msgMemberId], since: [since, msg.msgBadDate], until: [until, msg.msgBadDate] },
      count,
    );
  } finally {
    button.disabled = false;
  }
});

// --- member search ---------------------------------------------------------------------------

const search = $("member-search");
const searchText = $("search-text");
const searchCountry = $("search-country");
const searchRows = $("search-rows");
const searchCount = $("search-count");
const previous = $("search-previous");
const next = $("search-next");
const regions = new Intl.DisplayNames(lang, { type: "region", fallback: "code" });
const PAGE = 25; // isecom.services.admin.SEARCH_PAGE
let searched = null; // {q, country, page} of the rows on screen

function memberRow(member) {
  const tr = document.createElement("tr");
  const name = document.createElement("bdi");
  name.textContent = member.name;
  const email = document.createElement("bdi");
  email.textContent = member.email;
  const agency = document.createElement("bdi");
  agency.textContent = member.agency;
  tr.append(
    cell(name),
    cell(email),
    cell(regions.of(member.country)),
    cell(agency),
    cell(statusName(member.status)),
    cell(code(member.id), document.createElement("br"), useButton(member.id)),
  );
  return tr;
}

async function runSearch(query) {
  const params = new URLSearchParams({ q: query.q, page: String(query.page) });
  if (query.country) {
    params.set("country", query.country);
  }
  const found = await api("GET", `/api/v1/admin/members?${params}`);
  searched = query;
  searchRows.replaceChildren(...found.members.map(memberRow));
  const first = (query.page - 1) * PAGE + 1;
  show(
    searchCount,
    found.members.length === 0
      ? msg.msgFoundNone
      : fill(msg.msgFound, {
          from: numbers.format(first),
          to: numbers.format(first + found.members.length - 1),
        }),
  );
  previous.hidden = query.page <= 1;
  next.hidden = !found.more;
}

async function searchPage(query) {
  for (const button of [search.querySelector("button"), previous, next]) {
    button.disabled = true;
  }
  try {
    await runSearch(query);
  } catch (error) {
    failedField(error, { q: [searchText, msg.msgSearchLong] }, searchCount);
  } finally {
    for (const button of [search.querySelector("button"), previous, next]) {
      button.disabled = false;
    }
  }
}

search.addEventListener("submit", (event) => {
  event.preventDefault();
  fieldError(searchText, $("search-text-error"));
  const q = searchText.value.trim();
  if (q.length > 100) {
    fieldError(searchText, $("search-text-error"), msg.msgSearchLong);
    searchText.focus();
    return;
  }
  searchPage({ q, country: searchCountry.value, page: 1 });
});
previous.addEventListener("click", () => searchPage({ ...searched, page: searched.page - 1 }));
next.addEventListener("click", () => searchPage({ ...searched, page: searched.page + 1 }));

// --- membership actions and new keys ---------------------------------------------------------

function statusName(value) {
  const key = "status" + value.replace(/(^|_)(\w)/g, (_, __, letter) => letter.toUpperCase());
  return msg[key] ?? value.replaceAll("_", " ");
}

/** Check a member id and a reason; null after showing what is wrong. */
function checked(idInput, reasonInput) {
  const idError = $(`${idInput.id}-error`);
  const reasonError = $(`${reasonInput.id}-error`);
  fieldError(idInput, idError);
  fieldError(reasonInput, reasonError);
  const id = idInput.value.trim().toLowerCase();
  const reason = reasonInput.value.trim();
  if (!MEMBER_ID.test(id)) {
    fieldError(idInput, idError, msg.msgMemberId);
    idInput.focus();
    return null;
  }
  if (!reason || reason.length > MAX_REASON) {
    fieldError(reasonInput, reasonError, reason ? msg.msgReasonLong : msg.msgReason);
    reasonInput.focus();
    return null;
  }
  return { id, reason };
}

/** Show an API error next to the input it names ({field: [input, text]}), or in ``place``. */
function failedField(error, inputs, place) {
  if (!(error instanceof ApiError)) {
    show(place, String(error), "error");
    return;
  }
  const [input, fieldText] = inputs[error.field] ?? [];
  if (input) {
    fieldError(input, $(`${input.id}-error`), fieldText);
    input.focus();
    return;
  }
  const text =
    error.code === "not_found"
      ? msg.msgNotFound
      : error.code === "conflict"
        ? fill(msg.msgConflict, { message: error.message })
        : errorText(error, msg);
  show(place, text, "error");
}

async function submit(form, place, send) {
  const button = form.querySelector("button[type=submit]");
  if (button.disabled) {
    return;
  }
  button.disabled = true;
  show(place, "");
  let text;
  try {
    text = await send();
  } catch (error) {
    const inputs = {
      id: [form.querySelector("input.member-id"), msg.msgMemberId],
      reason: [form.querySelector("textarea"), msg.msgReason],
    };
    failedField(error, inputs, place);
    return;
  } finally {
    button.disabled = false;
  }
  show(place, text, "ok");
  try {
    if (searched !== null) {
      await runSearch(searched); // the member's new status
    }
    await loadAudit(shown); // the action is in the log now
  } catch (error) {
    show(count, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
  }
}

const membership = $("membership-form");
membership.addEventListener("submit", (event) => {
  event.preventDefault();
  const values = checked($("membership-id"), $("membership-reason"));
  if (values === null) {
    return;
  }
  const chosen = $("membership-action").value;
  submit(membership, $("membership-status"), async () => {
    const path = `/api/v1/admin/members/${values.id}/${encodeURIComponent(chosen)}`;
    const { member } = await api("POST", path, { reason: values.reason });
    $("membership-reason").value = "";
    return fill(msg.msgDone, { name: member.name, email: member.email, status: statusName(member.status) });
  });
});

const keys = $("keys-form");
const understood = $("keys-understood");
understood.addEventListener("change", () => fieldError(understood, $("keys-understood-error")));
keys.addEventListener("submit", (event) => {
  event.preventDefault();
  const values = checked($("keys-id"), $("keys-reason"));
  if (values === null) {
    return;
  }
  if (!understood.checked) {
    fieldError(understood, $("keys-understood-error"), msg.msgUnderstood);
    understood.focus();
    return;
  }
  submit(keys, $("keys-status"), async () => {
    const path = `/api/v1/admin/members/${values.id}/reset-keys`;
    const { member } = await api("POST", path, { reason: values.reason });
    $("keys-reason").value = "";
    understood.checked = false;
    return fill(msg.msgKeysDone, { name: member.name, email: member.email });
  });
});

for (const input of document.querySelectorAll("#admin input, #admin textarea")) {
  const message = $(`${input.id}-error`);
  if (message) {
    input.addEventListener("input", () => fieldError(input, message));
  }
}

// --- start ---------------------------------------------------------------------------------------

async function start() {
  show(status, msg.msgLoading);
  try {
    csrf = (await api("GET", "/api/v1/session")).csrf_token;
    await loadAudit(new URLSearchParams());
    await loadOutbox(api, dates);
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) {
      show(status, msg.msgForbidden, "error");
    } else {
      show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
    }
    return;
  }
  show(status, "");
  tools.hidden = false;
}

start();
