// A contact's page: the member's keys fetched from /keys/v1 and checked by the key ring against
// the pinned root key and the remembered checkpoint; the 60-digit safety number of the pair in
// 12 groups of 5 with its QR code; "mark as verified". A problem is shown in plain words and
// nothing about the keys is shown as trustworthy; a revocation says by whom and from when.
// For the head of the contact's NCB (GET /keys/v1/revocations/plan answers them), the form that
// revokes the contact's keys (revoke.js); the keys are looked up again afterwards.
import { ApiError, call } from "./api.js";
import { KeyProblem, KeyRing, pairNumber } from "./keyring.js";
import { RevokedBy, digitGroups } from "./crypto/keytrans.js";
import { errorText, fill, show } from "./page.js";
import { revocationForm, revocationPlan } from "./revoke.js";
import { encode } from "../vendor/uqr.mjs";

const root = document.getElementById("contact");
const msg = root.dataset;
const status = document.getElementById("contact-status");
const details = document.getElementById("contact-details");
const badge = document.getElementById("contact-badge");
const problemBox = document.getElementById("contact-problem");
const button = document.getElementById("mark-verified");
const lang = document.documentElement.lang;

function reasonText(reason) {
  const key = "reason" + reason[0].toUpperCase() + reason.slice(1);
  return msg[key] ?? msg.reasonFormat;
}

function drawQr(canvas, text) {
  const { data, size } = encode(text, { ecc: "M", border: 2 });
  const scale = 6;
  canvas.width = size * scale;
  canvas.height = size * scale;
  const g = canvas.getContext("2d");
  g.fillStyle = "#fff";
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = "#000";
  data.forEach((row, y) =>
    row.forEach((dark, x) => {
      if (dark) {
        g.fillRect(x * scale, y * scale, scale, scale);
      }
    }),
  );
  canvas.setAttribute("aria-label", fill(msg.msgQrLabel, { number: text }));
}

function showBadge(state) {
  const text = { verified: msg.msgVerified, unverified: msg.msgUnverified, changed: msg.reasonChanged }[state];
  badge.textContent = text;
  badge.className = `badge ${state === "verified" ? "" : state === "changed" ? "blocked" : "unverified"}`.trim();
  root.dataset.state = state;
}

function refuse(reason) {
  details.hidden = true;
  root.dataset.state = "refused";
  root.dataset.reason = reason;
  show(status, reasonText(reason), "error");
}

let ring = null;
let contact = null;
let me = null;

function revokedText(revoked) {
  const when = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" }).format(
    new Date(revoked.effective * 1000),
  );
  const template = {
    [RevokedBy.SELF]: msg.msgRevokedSelf,
    [RevokedBy.NCB_HEAD]: msg.msgRevokedHead,
    [RevokedBy.PLATFORM]: msg.msgRevokedPlatform,
  }[revoked.by];
  return template ? fill(template, { date: when }) : "";
}

function render() {
  const state = ring.badge(contact);
  showBadge(state);
  const problem = contact.problem === "changed" && state !== "changed" ? null : contact.problem;
  problemBox.hidden = problem === null;
  const parts = problem ? [reasonText(problem)] : [];
  if (problem === "revoked") {
    parts.push(revokedText(contact.verified.revoked));
  }
  problemBox.textContent = problem ? [...parts, msg.msgBlocked].filter(Boolean).join(" ") : "";
  root.dataset.reason = problem ?? "";
  button.disabled = state === "verified" || problem === "revoked" || problem === "expired";
}

/** Look the keys up (again) and show them; false when they are refused outright. */
async function load() {
  try {
    ring = await KeyRing.open(msg.me);
    contact = await ring.fetchLogged(msg.contactId);
    me = msg.me === msg.contactId ? contact : await ring.fetchLogged(msg.me);
  } catch (error) {
    if (error instanceof KeyProblem) {
      refuse(error.reason);
      return false;
    }
    throw error;
  }
  const approval = contact.verified.approval;
  document.getElementById("contact-name").textContent = approval.name;
  document.getElementById("contact-email").textContent = contact.verified.keys.email;
  document.getElementById("contact-agency").textContent = approval.agency;
  const regions = new Intl.DisplayNames([lang], { type: "region" });
  document.getElementById("contact-country").textContent = regions.of(approval.country) ?? approval.country;
  const number = pairNumber({ uid: me.verified.uid, sigPk: me.verified.keys.sigPk }, contact);
  const target = document.getElementById("safety-number");
  target.replaceChildren(
    ...digitGroups(number).map((group) => {
      const span = document.createElement("span");
      span.textContent = group;
      return span;
    }),
  );
  target.dataset.digits = number;
  drawQr(document.getElementById("safety-qr"), number);
  details.hidden = false;
  const size = new Intl.NumberFormat(lang).format(ring.checkpoint?.size ?? 0);
  const self = msg.me === msg.contactId;
  button.hidden = self;
  render();
  show(status, self ? msg.msgSelf : fill(msg.msgChecked, { size }), "ok");
  return true;
}

button.addEventListener("click", () => {
  ring.markVerified(contact);
  contact.problem = contact.problem === "changed" ? null : contact.problem;
  render();
  show(status, fill(msg.msgMarked, { name: contact.verified.approval.name }), "ok");
  badge.focus?.();
});

// --- an NCB head revoking this member's keys ---------------------------------------------------

async function offerRevocation(section) {
  const form = document.getElementById("revoke-form");
  const formStatus = document.getElementById("revoke-status");
  let csrf = null;
  let member = null;
  const api = async (method, path, body) => {
    try {
      return await call(method, path, { body, csrf });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        window.location.assign("/signin");
        return new Promise(() => {}); // the page is going away
      }
      throw error;
    }
  };
  if (contact.problem === "revoked") {
    return; // nothing left to revoke
  }
  let plan;
  try {
    const session = await api("GET", "/api/v1/session");
    csrf = session.csrf_token;
    member = session.member;
    plan = await revocationPlan(api, msg.contactId);
  } catch (error) {
    section.hidden = false; // say why the form is not usable where it would be
    show(formStatus, error instanceof ApiError ? errorText(error, form.dataset) : String(error), "error");
    return;
  }
  if (plan === null || plan.by !== "ncb_head") {
    return; // not theirs to revoke (or revoked meanwhile): the section stays hidden
  }
  section.hidden = false;
  revocationForm(form, {
    memberId: msg.contactId,
    me: () => member,
    api,
    reasonText,
    done: async ({ effective }) => {
      document.getElementById("revoke-member-details").hidden = true;
      const date = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" }).format(
        new Date(effective * 1000),
      );
      show(formStatus, fill(section.dataset.msgDone, { name: contact.verified.approval.name, date }), "ok");
      section.append(formStatus); // the form is hidden; its status line stays in view
      document.getElementById("revoke-member-title").focus();
      await load(); // the revocation is in the log after the next checkpoint; the ring asks again
    },
  });
}

async function start() {
  const shown = await load();
  const section = document.getElementById("revoke-member");
  if (shown && section !== null) {
    await offerRevocation(section);
  }
}

start();
