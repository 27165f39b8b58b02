// The side panel of compose: when a recipient is a member of a country with a country profile,
// show its freezing powers, confiscation, legal-assistance route and working languages, with a
// link to the whole profile. Imported for its effect by compose.js; it only reads the To and Cc
// fields (also when a reply, a draft or /mail?to= fills them) and never changes the message.
import { call } from "./api.js";
import { fill } from "./page.js";

const panel = document.getElementById("compose-country-panel");
const to = document.getElementById("compose-to");
const cc = document.getElementById("compose-cc");
const MAX_LOOKUPS = 20;
const countryOf = new Map(); // address -> country code, or null
const profiles = new Map(); // country code -> answer of /api/v1/countries/{CC}
let last = "";

function addresses() {
  return `${to?.value ?? ""},${cc?.value ?? ""}`
    .split(/[,;\s]+/)
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.includes("@"))
    .slice(0, MAX_LOOKUPS);
}

async function lookUp(emails) {
  const missing = emails.filter((e) => !countryOf.has(e));
  if (missing.length) {
    const query = new URLSearchParams(missing.map((e) => ["email", e]));
    try {
      const found = await call("GET", `/api/v1/profiles/lookup?${query}`);
      for (const e of missing) {
        countryOf.set(e, found.profiles.find((p) => p.email === e)?.country ?? null);
      }
    } catch {
      // an address that does not parse yet, or the network: compose says so next to the recipient
    }
  }
  return emails.map((e) => countryOf.get(e));
}

async function profile(code) {
  if (!profiles.has(code)) {
    profiles.set(code, await call("GET", `/api/v1/countries/${encodeURIComponent(code)}`).catch(() => null));
  }
  return profiles.get(code);
}

function row(dl, label, value) {
  const dt = document.createElement("dt");
  dt.textContent = label;
  const dd = document.createElement("dd");
  dd.dir = "auto";
  dd.textContent = value || panel.dataset.msgNotStated;
  dl.append(dt, dd);
}

function card(code, answer) {
  const msg = panel.dataset;
  const lang = document.documentElement.lang;
  const regions = new Intl.DisplayNames([lang], { type: "region" });
  const languages = new Intl.DisplayNames([lang], { type: "language" });
  const section = document.createElement("section");
  section.className = "country-card";
  section.dataset.country = code;
  const h = document.createElement("h3");
  h.textContent = regions.of(code) ?? code;
  section.append(h);
  const p = answer?.profile;
  if (!p) {
    const none = document.createElement("p");
    none.className = "hint";
    none.textContent = msg.msgNoProfile;
    section.append(none);
  } else {
    const dl = document.createElement("dl");
    dl.className = "facts";
    row(dl, msg.msgFreezing, [p.freezing, p.freezing_limit].filter(Boolean).join(" — "));
    row(dl, msg.msgNcbc, [msg[`msgNcbc${p.ncbc.charAt(0).toUpperCase()}${p.ncbc.slice(1)}`], p.ncbc_text].filter(Boolean).join(" — "));
    row(dl, msg.msgMla, [p.mla_route, p.central_authority].filter(Boolean).join(" — "));
    row(dl, msg.msgLanguages, p.working_languages.map((c) => languages.of(c) ?? c).join(", "));
    if (p.last_reviewed) {
      row(dl, msg.msgReviewed, p.last_reviewed);
    }
    section.append(dl);
  }
  const link = document.createElement("a");
  link.href = `/countries/${encodeURIComponent(code)}`;
  link.target = "_blank";
  link.rel = "noopener";
  link.textContent = fill(msg.msgOpen, { country: regions.of(code) ?? code });
  section.append(link);
  return section;
}

async function refresh() {
  const wanted = addresses();
  const key = wanted.join(",");
  if (key === last) {
    return;
  }
  last = key;
  const codes = [...new Set((await lookUp(wanted)).filter(Boolean))];
  const cards = [];
  for (const code of codes) {
    cards.push(card(code, await profile(code)));
  }
  if (last !== key) {
    return; // the fields changed meanwhile; a newer refresh draws
  }
  panel.querySelector(".country-cards").replaceChildren(...cards);
  panel.hidden = cards.length === 0;
  panel.dataset.countries = codes.join(",");
}

if (panel && to) {
  for (const input of [to, cc]) {
    input?.addEventListener("change", refresh);
    input?.addEventListener("blur", refresh);
  }
  // Replies, drafts and ?to= fill the fields without an input event: look again now and then.
  setInterval(refresh, 1000);
}
