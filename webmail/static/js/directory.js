// The directory page: Focal Points found by country, language, expertise and text (server-side,
// in pages, from /api/v1/profiles). Each opens its contact page, where the keys are checked and the
// safety number shown; "Write" opens compose with the member as recipient.
import { ApiError, call } from "./api.js";
import { errorText, fill, show } from "./page.js";

const root = document.getElementById("directory");
const msg = root.dataset;
const expertise = JSON.parse(msg.expertise || "{}");
const form = document.getElementById("directory-form");
const country = document.getElementById("directory-country");
const language = document.getElementById("directory-language");
const skill = document.getElementById("directory-expertise");
const text = document.getElementById("directory-text");
const list = document.getElementById("directory-list");
const status = document.getElementById("directory-status");
const more = document.getElementById("directory-more");
const lang = document.documentElement.lang;
const languageNames = new Intl.DisplayNames([lang], { type: "language" });
const regionNames = new Intl.DisplayNames([lang], { type: "region" });
let page = 1;
let shown = 0;

function name(names, code) {
  try {
    return names.of(code) ?? code;
  } catch {
    return code;
  }
}

function fact(dl, label, value) {
  if (!value) {
    return;
  }
  const dt = document.createElement("dt");
  dt.textContent = label;
  const dd = document.createElement("dd");
  dd.dir = "auto";
  dd.textContent = value;
  dl.append(dt, dd);
}

function availability(p) {
  if (p.availability === "always") {
    return msg.msgAlways;
  }
  return p.timezone ? fill(msg.msgOffice, { hours: p.hours, zone: p.timezone }) : msg.msgNotStated;
}

function item(member) {
  const li = document.createElement("li");
  li.className = "application contact-row person";
  li.dataset.member = member.id;
  const link = document.createElement("a");
  link.href = `/contacts/${encodeURIComponent(member.id)}`;
  const label = document.createElement("bdi");
  label.id = `name-${member.id}`;
  label.textContent = member.name;
  link.append(label);
  link.setAttribute("aria-label", fill(msg.msgOpenLabel, { name: member.name }));
  const agency = document.createElement("bdi");
  agency.textContent = [member.position, member.agency].filter(Boolean).join(" · ");
  const place = document.createElement("a");
  place.href = `/countries/${encodeURIComponent(member.country)}`;
  place.textContent = name(regionNames, member.country);
  const email = document.createElement("bdi");
  email.className = "hint";
  email.textContent = member.email;
  const dl = document.createElement("dl");
  dl.className = "facts";
  fact(dl, msg.msgLanguages, member.languages.map((code) => name(languageNames, code)).join(", "));
  fact(dl, msg.msgPhone, member.phone);
  fact(dl, msg.msgAvailability, availability(member));
  fact(dl, msg.msgExpertise, member.expertise.map((key) => expertise[key] ?? key).join(", "));
  const actions = document.createElement("p");
  actions.className = "actions";
  const write = document.createElement("a");
  write.className = "button small primary";
  write.href = `/mail?to=${encodeURIComponent(member.email)}#compose`;
  write.textContent = msg.msgWrite;
  write.setAttribute("aria-describedby", label.id); // "Write", described by the member's name
  actions.append(write);
  if (member.editable) {
    const edit = document.createElement("a");
    edit.className = "button small";
    edit.href = `/profiles/${encodeURIComponent(member.id)}/edit`;
    edit.textContent = msg.msgEdit;
    edit.setAttribute("aria-describedby", label.id);
    actions.append(" ", edit);
  }
  li.append(link, " ", agency, " ", place, " ", email, dl, actions);
  return li;
}

async function load({ next = false } = {}) {
  page = next ? page + 1 : 1;
  if (!next) {
    shown = 0;
    list.replaceChildren();
  }
  show(status, msg.msgLoading);
  more.hidden = true;
  const query = new URLSearchParams({ page: String(page) });
  for (const [key, input] of [["country", country], ["language", language], ["expertise", skill], ["q", text]]) {
    if (input.value.trim()) {
      query.set(key, input.value.trim());
    }
  }
  try {
    const found = await call("GET", `/api/v1/profiles?${query}`);
    list.append(...found.profiles.map(item));
    shown += found.profiles.length;
    const count = new Intl.NumberFormat(lang).format(shown);
    more.hidden = !found.more;
    root.dataset.loaded = String(page);
    show(status, shown === 0 ? msg.msgNone : fill(found.more ? msg.msgFoundMore : msg.msgFound, { count }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      window.location.assign("/signin");
      return;
    }
    show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
more.addEventListener("click", () => load({ next: true }));

load();
