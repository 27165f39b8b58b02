// New-mail notices (/account/notifications): the member's own external address, confirmed by a
// mailed link whose token arrives in the URL fragment (never sent to the server by the browser,
// so it reaches no log), and when to send: never, soon after new mail, or once a day.
import { ApiError, call } from "./api.js";
import { errorText, fieldError, fill, show } from "./page.js";

const root = document.getElementById("notifications");
const msg = root.dataset;
const $ = (id) => document.getElementById(id);
const status = $("notify-status");
const address = $("notify-address");
const addressError = $("notify-address-error");
let csrf = null;

async function api(method, path, body) {
  try {
    return await call(method, path, { body, csrf });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      window.location.assign("/signin");
      return new Promise(() => {});
    }
    throw error;
  }
}

function draw(settings) {
  const current = settings.address ? fill(msg.msgCurrent, { address: settings.address }) : msg.msgNone;
  const waiting = settings.pending_address ? " " + fill(msg.msgWaiting, { address: settings.pending_address }) : "";
  $("notify-current").textContent = current + waiting;
  $("notify-interval").textContent = fill(msg.msgInterval, { minutes: settings.interval_minutes }).replace(/[\u2068\u2069]/g, "");
  $("notify-digest").textContent = fill(msg.msgDigest, { hour: String(settings.digest_hour).padStart(2, "0") }).replace(/[\u2068\u2069]/g, "");
  for (const radio of document.querySelectorAll('input[name="mode"]')) {
    radio.checked = radio.value === settings.mode;
    radio.disabled = radio.value !== "off" && !settings.address;
  }
  $("notify-remove").hidden = !settings.address && !settings.pending_address;
}

function failed(error) {
  show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
}

$("address-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  fieldError(address, addressError);
  try {
    draw(await api("POST", "/api/v1/notifications/address", { address: address.value.trim() }));
    show(status, msg.msgSaved, "ok");
  } catch (error) {
    if (error instanceof ApiError && error.field === "address") {
      fieldError(address, addressError, msg.msgBadAddress);
      address.focus();
      return;
    }
    failed(error);
  }
});

$("mode-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const mode = document.querySelector('input[name="mode"]:checked')?.value ?? "off";
  try {
    draw(await api("POST", "/api/v1/notifications/mode", { mode }));
    show(status, msg.msgSaved, "ok");
  } catch (error) {
    failed(error);
  }
});

$("notify-remove").addEventListener("click", async () => {
  try {
    draw(await api("DELETE", "/api/v1/notifications/address"));
    show(status, msg.msgRemoved, "ok");
  } catch (error) {
    failed(error);
  }
});

async function confirmFromLink() {
  let token = "";
  try {
    token = decodeURIComponent(window.location.hash.slice(1));
  } catch {
    token = "-";
  }
  if (!token) {
    return;
  }
  window.history.replaceState(null, "", window.location.pathname); // single use: not again on reload
  if (!/^[A-Za-z0-9_\-.~]+$/.test(token)) {
    show(status, msg.msgInvalidLink, "error");
    return;
  }
  show(status, msg.msgConfirming);
  try {
    draw(await api("POST", "/api/v1/notifications/confirm", { token }));
    show(status, msg.msgConfirmed, "ok");
  } catch (error) {
    if (error instanceof ApiError && error.code === "token.invalid") {
      show(status, msg.msgInvalidLink, "error");
      return;
    }
    failed(error);
  }
}

async function start() {
  try {
    const session = await api("GET", "/api/v1/session");
    csrf = session.csrf_token;
    draw(await api("GET", "/api/v1/notifications"));
    await confirmFromLink();
  } catch (error) {
    failed(error);
  }
}

window.addEventListener("hashchange", confirmFromLink); // the link opened in this very tab
start();
