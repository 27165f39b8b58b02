// Confirming the address of an application: the token is in the URL fragment (browsers never
// send it, so it reaches no log). It is single-use: once confirmed, it is dropped from the
// address bar so that a reload does not report the used link as invalid.
import { ApiError, call } from "./api.js";
import { errorText, show } from "./page.js";

const box = document.getElementById("confirmation");
const msg = box.dataset;
const status = document.getElementById("confirm-status");
const retry = document.getElementById("confirm-retry");
const apply = document.getElementById("confirm-apply");
const next = document.getElementById("confirm-next");

async function confirm() {
  retry.hidden = true;
  apply.hidden = true;
  next.hidden = true;
  let token;
  try {
    token = decodeURIComponent(window.location.hash.slice(1));
  } catch {
    token = null;
  }
  if (token === null || !/^[A-Za-z0-9_\-.~]+$/.test(token)) {
    show(status, token === "" ? msg.msgMissing : msg.msgInvalid, "error");
    apply.hidden = token === "";
    return;
  }
  show(status, msg.msgConfirming);
  try {
    await call("POST", "/api/v1/applications/confirm", { body: { token } });
  } catch (error) {
    if (error instanceof ApiError && error.code === "token.invalid") {
      show(status, msg.msgInvalid, "error");
      apply.hidden = false;
    } else {
      show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
      retry.hidden = false; // the link was not used: it can be tried again
    }
    return;
  }
  window.history.replaceState(null, "", window.location.pathname);
  show(status, msg.msgConfirmed, "ok");
  next.hidden = false;
  document.getElementById("next-title").focus();
}

retry.querySelector("button").addEventListener("click", confirm);
window.addEventListener("hashchange", confirm);
confirm();
