// The directory page: members of a chosen country from /keys/v1/directory, each a link to its
// contact page, where the keys are checked and the safety number shown.
import { ApiError, call } from "./api.js";
import { errorText, fill, show } from "./page.js";

const root = document.getElementById("directory");
const msg = root.dataset;
const form = document.getElementById("directory-form");
const country = document.getElementById("directory-country");
const list = document.getElementById("directory-list");
const status = document.getElementById("directory-status");

function item(member) {
  const li = document.createElement("li");
  li.className = "application contact-row";
  const link = document.createElement("a");
  link.href = `/contacts/${encodeURIComponent(member.id)}`;
  const name = document.createElement("bdi");
  name.textContent = member.name;
  link.append(name);
  link.setAttribute("aria-label", fill(msg.msgOpenLabel, { name: member.name }));
  const agency = document.createElement("bdi");
  agency.textContent = member.agency;
  const email = document.createElement("bdi");
  email.className = "hint";
  email.textContent = member.email;
  li.append(link, agency, email);
  return li;
}

async function load() {
  show(status, msg.msgLoading);
  list.replaceChildren();
  try {
    const found = await call("GET", `/keys/v1/directory?country=${encodeURIComponent(country.value)}`);
    list.replaceChildren(...found.members.map(item));
    const label = country.options[country.selectedIndex]?.text ?? found.country;
    const count = new Intl.NumberFormat(document.documentElement.lang).format(found.members.length);
    show(status, found.members.length ? fill(msg.msgCount, { country: label, count }) : msg.msgEmpty);
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

load();
