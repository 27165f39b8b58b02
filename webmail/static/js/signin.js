// Sign-in page. The encryption library is loaded now so the password proof
// (docs/PROTOCOL.md) can be computed here when sign-in is enabled; until the
// membership work lands the form says so instead of sending anything.
import sodium from "../vendor/libsodium-wrappers.mjs";

const form = document.getElementById("signin-form");
const status = document.getElementById("signin-status");

let ready = false;
sodium.ready.then(() => {
  ready = true;
  document.documentElement.dataset.sodium = "ready";
}).catch(() => {
  status.textContent = form.dataset.msgCryptoFailed;
  status.className = "status error";
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  status.className = "status error";
  status.textContent = ready ? form.dataset.msgUnavailable : form.dataset.msgCryptoFailed;
});
