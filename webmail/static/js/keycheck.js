// The home page's self-audit (docs/PROTOCOL.md §9.10, "the member's own self-audit"): fetch this
// member's own key history from the log, check it like any other look-up, and compare the current
// key statement with the public keys this browser took from the unlocked bundle at sign-in. A
// statement the member did not make (the server publishing a key in their name), a renewal of the
// encryption key signed with the member's own signing key (another browser's rotation), a revocation or
// a broken log is said plainly, with who revoked and from when. The audit runs again when the
// page's revocation form (revoke.js, via home.js) sends the "isecom:keys-revoked" event; every
// result is announced as a "isecom:key-audit" event with the state.
import { KeyProblem, KeyRing, ownKeys } from "./keyring.js";
import { b64encode } from "./crypto/encoding.js";
import { RevokedBy } from "./crypto/keytrans.js";
import { fill, show } from "./page.js";

const section = document.getElementById("key-audit");
const msg = section.dataset;
const status = document.getElementById("key-audit-status");

function reasonText(reason) {
  return msg["reason" + reason[0].toUpperCase() + reason.slice(1)] ?? msg.reasonFormat;
}

function result(state, text, kind) {
  section.dataset.state = state;
  show(status, text, kind);
  document.dispatchEvent(new CustomEvent("isecom:key-audit", { detail: { state } }));
}

function revokedText(revoked) {
  const date = new Intl.DateTimeFormat(document.documentElement.lang, { dateStyle: "medium", timeStyle: "short" });
  const when = date.format(new Date(revoked.effective * 1000));
  const template = { [RevokedBy.SELF]: msg.msgRevokedSelf, [RevokedBy.NCB_HEAD]: msg.msgRevokedHead }[revoked.by];
  return template ? fill(template, { date: when }) : msg.msgRevoked;
}

async function audit() {
  const me = msg.memberId;
  let mine;
  try {
    const ring = await KeyRing.open(me);
    mine = await ring.fetchLogged(me);
  } catch (error) {
    if (error instanceof KeyProblem) {
      result(`refused:${error.reason}`, `${msg.msgWarning} ${reasonText(error.reason)}`, "error");
      return;
    }
    throw error;
  }
  if (mine.problem === "revoked") {
    result("revoked", revokedText(mine.verified.revoked), "error");
    return;
  }
  const own = ownKeys(me);
  if (own === null) {
    result("unknown", msg.msgUnknown, "");
    return;
  }
  const keys = mine.verified.keys;
  const count = new Intl.NumberFormat(document.documentElement.lang).format(keys.seqno + 1);
  if (own.sig_pk !== b64encode(keys.sigPk)) {
    result("foreign", msg.msgForeign, "error");
    return;
  }
  if (own.enc_pk !== b64encode(keys.encPk)) {
    // Chained to the statement this browser knew and signed with the member's own signing key
    // (checkHistory): a rotation made with the member's keys, most likely in another browser.
    result("rotated", fill(msg.msgRotated, { count }), "");
    return;
  }
  result("ok", fill(msg.msgOk, { count }), "ok");
}

document.addEventListener("isecom:keys-revoked", () => {
  section.removeAttribute("data-state");
  show(status, msg.msgChecking);
  audit();
});

audit();
