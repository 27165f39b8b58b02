// The home page's self-audit (docs/PROTOCOL.md §9.10, "the member's own self-audit"): fetch this
// member's own key history from the log, check it like any other look-up, and compare the current
// key statement with the public keys this browser took from the unlocked bundle at sign-in. A
// statement the member did not make (the server publishing a key in their name), a revocation or
// a broken log is said plainly.
import { KeyProblem, KeyRing, ownKeys } from "./keyring.js";
import { b64encode } from "./crypto/encoding.js";
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
    result("revoked", msg.msgRevoked, "error");
    return;
  }
  const own = ownKeys(me);
  if (own === null) {
    result("unknown", msg.msgUnknown, "");
    return;
  }
  const keys = mine.verified.keys;
  if (own.sig_pk !== b64encode(keys.sigPk) || own.enc_pk !== b64encode(keys.encPk)) {
    result("foreign", msg.msgForeign, "error");
    return;
  }
  const count = new Intl.NumberFormat(document.documentElement.lang).format(keys.seqno + 1);
  result("ok", fill(msg.msgOk, { count }), "ok");
}

audit();
