// A contact's page: the member's keys fetched from /keys/v1 and checked by the key ring against
// the pinned root key and the remembered checkpoint; the 60-digit safety number of the pair in
// 12 groups of 5 with its QR code; "mark as verified". A problem is shown in plain words and
// nothing about the keys is shown as trustworthy.
import { KeyProblem, KeyRing, pairNumber } from "./keyring.js";
import { digitGroups } from "./crypto/keytrans.js";
import { fill, show } from "./page.js";
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

async function start() {
  let ring;
  let contact;
  let me;
  try {
    ring = await KeyRing.open(msg.me);
    contact = await ring.fetchLogged(msg.contactId);
    me = msg.me === msg.contactId ? contact : await ring.fetchLogged(msg.me);
  } catch (error) {
    if (error instanceof KeyProblem) {
      refuse(error.reason);
      return;
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
  const render = () => {
    const state = ring.badge(contact);
    showBadge(state);
    const problem = contact.problem === "changed" && state !== "changed" ? null : contact.problem;
    problemBox.hidden = problem === null;
    problemBox.textContent = problem ? `${reasonText(problem)} ${msg.msgBlocked}` : "";
    root.dataset.reason = problem ?? "";
    button.disabled = state === "verified" || problem === "revoked" || problem === "expired";
  };
  render();
  show(status, self ? msg.msgSelf : fill(msg.msgChecked, { size }), "ok");
  button.addEventListener("click", () => {
    ring.markVerified(contact);
    contact.problem = contact.problem === "changed" ? null : contact.problem;
    render();
    show(status, fill(msg.msgMarked, { name: approval.name }), "ok");
    badge.focus?.();
  });
}

start();
