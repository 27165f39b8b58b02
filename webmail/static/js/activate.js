// Activation page: the token is in the URL fragment (never sent to the server
// by the browser, so never in logs); it is posted once to check whom it is for.
const box = document.getElementById("activation");
const status = document.getElementById("activation-status");
const next = document.getElementById("activation-next");

function show(text, kind) {
  status.textContent = text;
  status.className = `status ${kind}`;
}

function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => values[key] ?? "");
}

async function check() {
  const token = decodeURIComponent(window.location.hash.slice(1));
  if (!token) {
    show(box.dataset.msgMissing, "error");
    return;
  }
  show(box.dataset.msgChecking, "");
  let response;
  try {
    response = await fetch("/api/v1/activation/check", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ token }),
      credentials: "same-origin",
    });
  } catch {
    show(box.dataset.msgError, "error");
    return;
  }
  if (!response.ok) {
    show(box.dataset.msgInvalid, "error");
    return;
  }
  const info = await response.json();
  const date = new Date(info.expires_at).toLocaleString(document.documentElement.lang);
  show(fill(box.dataset.msgValid, { name: info.name, email: info.email, date }), "ok");
  next.textContent = box.dataset.msgNext;
  next.hidden = false;
}

check();
window.addEventListener("hashchange", check);
