// Reviewing applications: the nominations (agency heads) and authorizations (NCB heads) that
// GET /api/v1/applications/pending gives this member, one card each with the applicant's details
// and the decision; and, for NCB heads and administrators, the memberships ending within a
// chosen number of days (GET /api/v1/memberships/renewals), each renewed in place. A rejection needs a reason (the applicant reads it); an authorization takes
// the membership term in days. After every decision the lists are loaded again. An agency head's
// endorsement and an NCB head's authorization are signed here with the member's own key, unlocked
// with their password for that one signature (docs/PROTOCOL.md §9.3); the server only checks and
// logs them.
import { ApiError, call } from "./api.js";
import { b64decode, b64encode, equal, uidFromHex } from "./crypto/encoding.js";
import { authorization, nomination, objectHash, parseDecision } from "./crypto/keytrans.js";
import { errorText, fieldError, fill, show } from "./page.js";
import { WrongPassword, unlockKeys } from "./unlock.js";

const root = document.getElementById("review");
const msg = root.dataset;
const status = document.getElementById("review-status");
const template = document.getElementById("application-template");
const lang = document.documentElement.lang;
const dates = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
const regions = new Intl.DisplayNames(lang, { type: "region", fallback: "code" });
const languages = new Intl.DisplayNames(lang, { type: "language", fallback: "code" });
const list = new Intl.ListFormat(lang, { style: "long", type: "conjunction" });
const MAX_REASON = 2000;
const MAX_TERM = 1825;

/** What each list does: its API path, the "yes" button and the messages. */
const KINDS = {
  nomination: { path: "nomination", yes: "endorse", yesLabel: msg.msgEndorse, done: msg.msgEndorsed },
  authorization: { path: "authorization", yes: "approve", yesLabel: msg.msgAuthorize, done: msg.msgAuthorized },
};

let csrf = null;
let me = null; // the signed-in member
const DAY = 86400;
const password = document.getElementById("signature-password");
const passwordError = document.getElementById("signature-password-error");

/** A refusal shown where it belongs; nothing was sent. */
class Stopped extends Error {}

/**
 * Sign the decision in `body` when this member decides as the certified head (§9.3); the
 * statement goes into `body`. Throws Stopped after showing why it cannot be signed.
 */
async function signDecision(kind, application, body) {
  const id = encodeURIComponent(application.id);
  const info = await api("GET", `/api/v1/applications/${id}/signing?step=${kind}`);
  if (!info.must_sign) {
    return; // an administrator deciding for the platform: the platform key approves at activation
  }
  if (info.certificate === null) {
    show(status, msg.msgNoCertificate, "error");
    throw new Stopped();
  }
  fieldError(password, passwordError);
  if (!password.value) {
    fieldError(password, passwordError, msg.msgPassword);
    password.focus();
    throw new Stopped();
  }
  show(status, msg.msgSigning);
  let keys;
  try {
    keys = await unlockKeys(password.value, me, api);
  } catch (error) {
    if (error instanceof WrongPassword) {
      fieldError(password, passwordError, msg.msgPasswordWrong);
      password.focus();
      throw new Stopped();
    }
    throw error;
  }
  try {
    const m = info.member;
    const uid = uidFromHex(m.id);
    const common = {
      sigSk: keys.sigSk,
      uid,
      signerCert: b64decode(info.certificate.hash, 32),
      signerCertIdx: info.certificate.index,
      made: info.now,
    };
    if (kind === "nomination") {
      body.statement = b64encode(
        nomination({ ...common, email: m.email, name: m.name, country: m.country, agency: m.agency }),
      );
      return;
    }
    // Authorize only a nomination of the applicant on screen, never bytes the server chose.
    const nominated = info.nomination === null ? null : b64decode(info.nomination);
    const nom = nominated === null ? null : parseDecision(nominated);
    const same =
      nom !== null &&
      m.id === application.id &&
      equal(nom.uid, uid) &&
      [nom.email, nom.name, nom.country, nom.agency].join("\n") === [m.email, m.name, m.country, m.agency].join("\n");
    if (!same) {
      show(status, msg.msgNominationMismatch, "error");
      throw new Stopped();
    }
    body.statement = b64encode(
      authorization({ ...common, nominationHash: objectHash(nominated), notAfter: info.now + body.term_days * DAY }),
    );
  } finally {
    keys.close();
  }
}

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

function capitalised(text) {
  return text.charAt(0).toLocaleUpperCase(lang) + text.slice(1);
}

function card(kind, application) {
  const item = template.content.firstElementChild.cloneNode(true);
  const prefix = `${kind}-${application.id}`;
  for (const element of item.querySelectorAll("[data-id]")) {
    element.id = `${prefix}-${element.dataset.id}`;
  }
  for (const label of item.querySelectorAll("label[data-for]")) {
    label.htmlFor = `${prefix}-${label.dataset.for}`;
  }
  for (const element of item.querySelectorAll("[data-describedby]")) {
    const ids = element.dataset.describedby.split(" ").map((id) => `${prefix}-${id}`);
    element.setAttribute("aria-describedby", ids.join(" "));
  }
  const values = {
    ...application,
    country: regions.of(application.country),
    languages: list.format(application.languages.map((code) => capitalised(languages.of(code)))),
    submitted_at: dates.format(new Date(application.submitted_at)),
  };
  for (const element of item.querySelectorAll("[data-value]")) {
    element.textContent = values[element.dataset.value] ?? "";
  }
  item.querySelector(".term").hidden = kind !== "authorization";
  const title = `${prefix}-title`;
  const yes = item.querySelector('[data-decision="yes"]');
  const no = item.querySelector('[data-decision="no"]');
  yes.textContent = KINDS[kind].yesLabel;
  no.textContent = msg.msgReject;
  for (const button of [yes, no]) {
    button.setAttribute("aria-describedby", title); // "Reject" — of which applicant
    button.addEventListener("click", () => decide(kind, application, item, button === yes));
  }
  item.querySelector("form").addEventListener("submit", (event) => event.preventDefault());
  return item;
}

async function refresh() {
  const pending = await api("GET", "/api/v1/applications/pending");
  for (const kind of Object.keys(KINDS)) {
    const target = document.getElementById(`${kind}-list`);
    if (target === null) {
      continue; // this member does not take this decision
    }
    const items = pending[kind] ?? [];
    target.replaceChildren(...items.map((application) => card(kind, application)));
    document.getElementById(`${kind}-empty`).hidden = items.length > 0;
  }
}

/** The decision's body, or null after showing why it cannot be sent. */
function decision(kind, item, yes) {
  const reason = item.querySelector("textarea");
  const reasonError = item.querySelector(`#${CSS.escape(reason.id)}-error`);
  const term = item.querySelector('input[type="number"]');
  const termError = item.querySelector(`#${CSS.escape(term.id)}-error`);
  fieldError(reason, reasonError);
  fieldError(term, termError);
  const text = reason.value.trim();
  if (!yes && !text) {
    fieldError(reason, reasonError, msg.msgReasonRequired);
    reason.focus();
    return null;
  }
  if (text.length > MAX_REASON) {
    fieldError(reason, reasonError, msg.msgReasonLong);
    reason.focus();
    return null;
  }
  const body = { [KINDS[kind].yes]: yes };
  if (text) {
    body.reason = text;
  }
  if (kind === "authorization" && yes) {
    const days = Number(term.value);
    if (!Number.isInteger(days) || days < 1 || days > MAX_TERM) {
      fieldError(term, termError, msg.msgTerm);
      term.focus();
      return null;
    }
    body.term_days = days;
  }
  return body;
}

async function decide(kind, application, item, yes) {
  const body = decision(kind, item, yes);
  if (body === null) {
    return;
  }
  const buttons = item.querySelectorAll("button");
  buttons.forEach((button) => (button.disabled = true));
  item.setAttribute("aria-busy", "true");
  const path = `/api/v1/applications/${encodeURIComponent(application.id)}/${KINDS[kind].path}`;
  try {
    if (yes) {
      await signDecision(kind, application, body);
    }
    await api("POST", path, body);
  } catch (error) {
    buttons.forEach((button) => (button.disabled = false));
    item.removeAttribute("aria-busy");
    if (!(error instanceof Stopped)) {
      failed(kind, item, error);
    }
    return;
  }
  const done = yes ? KINDS[kind].done : msg.msgRejected;
  await reload(fill(done, { name: application.name }), "ok", kind);
}

function failed(kind, item, error) {
  if (!(error instanceof ApiError)) {
    show(status, String(error), "error");
    return;
  }
  if (error.code === "not_found") {
    reload(msg.msgGone, "error", kind);
    return;
  }
  const fields = { reason: "textarea", term_days: 'input[type="number"]' };
  const input = error.field && fields[error.field] ? item.querySelector(fields[error.field]) : null;
  if (input) {
    const text = error.field === "reason" ? msg.msgReasonRequired : msg.msgTerm;
    fieldError(input, item.querySelector(`#${CSS.escape(input.id)}-error`), text);
    input.focus();
    return;
  }
  show(status, errorText(error, msg), "error");
}

/** Load the lists again, say what happened and keep the keyboard in the section just changed. */
async function reload(text, tone, section) {
  try {
    await refresh();
    show(status, text, tone);
  } catch (error) {
    show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
  }
  document.getElementById(`${section}s-title`)?.focus();
}

// --- memberships ending soon (NCB heads and administrators) -------------------------------------

const renewalList = document.getElementById("renewal-list");
const renewalDays = document.getElementById("renewal-days");
const renewalDaysError = document.getElementById("renewal-days-error");
const endDates = new Intl.DateTimeFormat(lang, { dateStyle: "long" });
const MAX_WINDOW = 366;

function renewalCard(membership) {
  const item = document.getElementById("renewal-template").content.firstElementChild.cloneNode(true);
  const prefix = `renewal-${membership.id}`;
  for (const element of item.querySelectorAll("[data-id]")) {
    element.id = `${prefix}-${element.dataset.id}`;
  }
  item.querySelector("label[data-for]").htmlFor = `${prefix}-term`;
  const term = item.querySelector('input[type="number"]');
  term.setAttribute("aria-describedby", `${prefix}-term-error`);
  const values = {
    ...membership,
    country: regions.of(membership.country),
    membership_expires_at: endDates.format(new Date(membership.membership_expires_at)),
  };
  for (const element of item.querySelectorAll("[data-value]")) {
    element.textContent = values[element.dataset.value] ?? "";
  }
  const button = item.querySelector("button");
  button.textContent = msg.msgRenew;
  button.setAttribute("aria-label", fill(msg.msgRenewLabel, { name: membership.name }));
  item.querySelector("form").addEventListener("submit", (event) => {
    event.preventDefault();
    renew(membership, item);
  });
  return item;
}

async function refreshRenewals() {
  if (renewalList === null) {
    return;
  }
  const days = Number(renewalDays.value);
  const { memberships } = await api("GET", `/api/v1/memberships/renewals?within_days=${days}`);
  renewalList.replaceChildren(...memberships.map(renewalCard));
  document.getElementById("renewal-empty").hidden = memberships.length > 0;
}

async function renew(membership, item) {
  const term = item.querySelector('input[type="number"]');
  const termError = item.querySelector(`#${CSS.escape(term.id)}-error`);
  fieldError(term, termError);
  const days = Number(term.value);
  if (!Number.isInteger(days) || days < 1 || days > MAX_TERM) {
    fieldError(term, termError, msg.msgTerm);
    term.focus();
    return;
  }
  const button = item.querySelector("button");
  button.disabled = true;
  let renewed;
  try {
    renewed = await api("POST", `/api/v1/applications/${encodeURIComponent(membership.id)}/renewal`, {
      term_days: days,
    });
  } catch (error) {
    button.disabled = false;
    if (error instanceof ApiError && error.code === "not_found") {
      await reloadRenewals(msg.msgRenewGone, "error");
    } else if (error instanceof ApiError && error.field === "term_days") {
      fieldError(term, termError, msg.msgTerm);
      term.focus();
    } else {
      show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
    }
    return;
  }
  const date = endDates.format(new Date(renewed.membership_expires_at));
  await reloadRenewals(fill(msg.msgRenewed, { name: membership.name, date }), "ok");
}

async function reloadRenewals(text, tone) {
  try {
    await refreshRenewals();
    show(status, text, tone);
  } catch (error) {
    show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
  }
  document.getElementById("renewals-title").focus();
}

document.getElementById("renewal-window")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  fieldError(renewalDays, renewalDaysError);
  const days = Number(renewalDays.value);
  if (!Number.isInteger(days) || days < 1 || days > MAX_WINDOW) {
    fieldError(renewalDays, renewalDaysError, msg.msgWindow);
    renewalDays.focus();
    return;
  }
  try {
    await refreshRenewals();
  } catch (error) {
    show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
  }
});

async function start() {
  show(status, msg.msgLoading);
  try {
    const session = await api("GET", "/api/v1/session");
    csrf = session.csrf_token;
    me = session.member;
    await refresh();
    await refreshRenewals();
    show(status, "");
  } catch (error) {
    show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
  }
}

start();
