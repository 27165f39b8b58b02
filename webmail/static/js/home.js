// The signed-in home page: the list of this member's sessions, revoking them, signing out, the
// member's latest security events, and revoking the member's own keys (revoke.js; the key-log
// self-audit in keycheck.js checks again afterwards).
// State changes carry the CSRF token of GET /api/v1/session; an answer that the session is
// gone (401) sends the browser to the sign-in page.
import { ApiError, call } from "./api.js";
import { errorText, fill, show } from "./page.js";
import { revocationForm } from "./revoke.js";

const root = document.getElementById("home");
const msg = root.dataset;
const list = document.getElementById("sessions-list");
const status = document.getElementById("sessions-status");
const others = document.getElementById("revoke-others");
const signOut = document.getElementById("sign-out");
const dates = new Intl.DateTimeFormat(document.documentElement.lang, { dateStyle: "medium", timeStyle: "short" });

let csrf = null;
let me = null; // the signed-in member, from GET /api/v1/session

/** "Firefox on Windows" from a User-Agent header, or the "unknown" text. */
function describeBrowser(userAgent) {
  const ua = userAgent || "";
  const browser =
    [
      [/Edg(?:e|A|iOS)?\//, "Edge"],
      [/OPR\//, "Opera"],
      [/Firefox\/|FxiOS\//, "Firefox"],
      [/Chrome\/|CriOS\//, "Chrome"],
      [/Safari\//, "Safari"],
    ].find(([pattern]) => pattern.test(ua))?.[1] ?? null;
  const system =
    [
      [/Android/, "Android"],
      [/iPhone|iPad|iPod/, "iOS"],
      [/Windows/, "Windows"],
      [/CrOS/, "ChromeOS"],
      [/Mac OS X|Macintosh/, "macOS"],
      [/Linux|X11/, "Linux"],
    ].find(([pattern]) => pattern.test(ua))?.[1] ?? null;
  if (browser && system) {
    return fill(msg.msgBrowser, { browser, system });
  }
  return browser ?? system ?? msg.msgUnknownBrowser;
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

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function row(session) {
  const tr = document.createElement("tr");
  const browser = describeBrowser(session.user_agent);
  const started = dates.format(new Date(session.created_at));
  const name = cell(browser);
  name.title = session.user_agent || "";
  tr.append(name, cell(started), cell(dates.format(new Date(session.last_seen_at))));
  const action = document.createElement("td");
  if (session.current) {
    tr.classList.add("current");
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = msg.msgThisSession;
    action.append(badge);
  } else {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button small";
    button.textContent = msg.msgRevoke;
    button.setAttribute("aria-label", fill(msg.msgRevokeLabel, { browser, date: started }));
    const path = `/api/v1/sessions/${encodeURIComponent(session.id)}`;
    button.addEventListener("click", () => act(() => api("DELETE", path), msg.msgRevoked));
    action.append(button);
  }
  tr.append(action);
  return tr;
}

async function refresh() {
  const { sessions } = await api("GET", "/api/v1/sessions");
  list.replaceChildren(...sessions.map(row));
  const alone = sessions.every((session) => session.current);
  others.hidden = alone;
  return alone;
}

async function act(change, done) {
  for (const button of document.querySelectorAll("#home button")) {
    button.disabled = true;
  }
  try {
    const result = await change();
    await refresh();
    loadEvents(); // a revoked session is a security event
    show(status, typeof done === "function" ? done(result) : done, "ok");
  } catch (error) {
    show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
  } finally {
    for (const button of document.querySelectorAll("#home button")) {
      button.disabled = false;
    }
    if (!root.contains(document.activeElement) || document.activeElement.disabled) {
      document.getElementById("sessions-title").focus(); // the clicked row is gone: keep the keyboard here
    }
  }
}

others.addEventListener("click", () =>
  act(
    () => api("POST", "/api/v1/sessions/revoke-others"),
    (result) => {
      const count = new Intl.NumberFormat(document.documentElement.lang).format(result.revoked);
      return fill(msg.msgRevokedOthers, { count });
    },
  ),
);

signOut.addEventListener("click", async () => {
  signOut.disabled = true;
  try {
    await api("POST", "/api/v1/auth/logout");
  } catch (error) {
    signOut.disabled = false;
    show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
    return;
  }
  window.location.assign("/signin");
});

const EVENTS_SHOWN = 10;

/** "signin.success" -> the page's data-event-signin-success text, or the action itself. */
function eventName(action) {
  const key = "event" + action.replace(/(^|[._])(\w)/g, (_, __, letter) => letter.toUpperCase());
  return msg[key] ?? action;
}

async function loadEvents() {
  const target = document.getElementById("events-list");
  const eventsStatus = document.getElementById("events-status");
  try {
    const { events } = await api("GET", "/api/v1/me/security-events");
    target.replaceChildren(
      ...events.slice(0, EVENTS_SHOWN).map((event) => {
        const item = document.createElement("li");
        const time = document.createElement("time");
        time.dateTime = event.at;
        time.textContent = dates.format(new Date(event.at));
        const name = document.createElement("span");
        name.textContent = eventName(event.action);
        item.append(time, " ", name);
        return item;
      }),
    );
    show(eventsStatus, events.length === 0 ? msg.msgNoEvents : "");
  } catch (error) {
    show(eventsStatus, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
  }
}

// --- revoking the member's own keys ----------------------------------------------------------

const audit = document.getElementById("key-audit");
const revokeDetails = document.getElementById("revoke-own-details");
const revokeDone = document.getElementById("revoke-own-done");
const revokeMsg = document.getElementById("revoke-own").dataset;

revocationForm(document.getElementById("revoke-form"), {
  memberId: audit.dataset.memberId,
  me: () => me,
  api,
  reasonText: (reason) => audit.dataset["reason" + reason[0].toUpperCase() + reason.slice(1)] ?? audit.dataset.reasonFormat,
  done: ({ effective, now }) => {
    revokeDetails.open = false;
    revokeDetails.hidden = true;
    const date = dates.format(new Date(effective * 1000));
    revokeDone.textContent = effective >= now ? revokeMsg.msgDoneNow : fill(revokeMsg.msgDoneSince, { date });
    revokeDone.hidden = false;
    document.getElementById("revoke-own-title").focus(); // the form is gone: keep the keyboard here
    document.dispatchEvent(new CustomEvent("isecom:keys-revoked")); // keycheck.js audits again
    loadEvents();
  },
});

// Keys already revoked (found by the self-audit): nothing left to revoke here.
document.addEventListener("isecom:key-audit", (event) => {
  if (event.detail.state === "revoked") {
    revokeDetails.open = false;
    revokeDetails.hidden = true;
  }
});

async function start() {
  try {
    const session = await api("GET", "/api/v1/session");
    csrf = session.csrf_token;
    me = session.member;
    if (await refresh()) {
      show(status, msg.msgOnlyHere);
    }
  } catch (error) {
    show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
  }
  await loadEvents();
}

start();
