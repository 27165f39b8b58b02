// The application form (POST /api/v1/applications). The answer is the same whether or not the
// address is known, so the page only ever says "check your mail". Every field is checked here
// first, with the same rules as the server; an error the server finds anyway is shown next to
// the field it names (error.field), in the page's language.
import { ApiError, call } from "./api.js";
import { errorText, fieldError, fill, show } from "./page.js";

const form = document.getElementById("apply-form");
const msg = form.dataset;
const status = document.getElementById("apply-status");
const button = form.querySelector("button[type=submit]");
const done = document.getElementById("apply-done");

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^[0-9+\-(). ]+$/;
const LINE = 200;

/** The input (or fieldset) of each field the server knows, and where its error goes. */
const FIELDS = Object.fromEntries(
  [...form.querySelectorAll("[data-field]")].map((element) => [
    element.dataset.field,
    { element, message: document.getElementById(`${element.id}-error`) },
  ]),
);

/** The page's text for an error of ``field`` (data-error-*): "nominator_email" -> errorNominatorEmail. */
function errorFor(field) {
  const key = "error" + field.replace(/(^|_)(\w)/g, (_, __, letter) => letter.toUpperCase());
  return msg[key] ?? "";
}

function checkedLanguages() {
  return [...FIELDS.languages.element.querySelectorAll("input[type=checkbox]:checked")].map((box) => box.value);
}

function line(value) {
  return value.length > 0 && value.length <= LINE && !/[\u0000-\u001f\u007f]/.test(value);
}

/** The form's values, and the fields they fail (in the order of the form). */
function read() {
  const value = (field) => FIELDS[field].element.value.trim();
  const body = {
    name: value("name"),
    email: value("email"),
    phone: value("phone"),
    agency: value("agency"),
    country: value("country"),
    position: value("position"),
    languages: checkedLanguages(),
    nominator_email: value("nominator_email"),
    language: document.documentElement.lang,
  };
  const digits = body.phone.replace(/[^0-9]/g, "").length;
  const failed = {
    name: !line(body.name),
    email: !EMAIL.test(body.email) || body.email.length > 254,
    phone: !PHONE.test(body.phone) || digits < 6 || body.phone.length > 40,
    agency: !line(body.agency),
    country: !body.country,
    position: !line(body.position),
    languages: body.languages.length === 0,
    nominator_email: !EMAIL.test(body.nominator_email) || body.nominator_email.length > 254,
  };
  const errors = Object.keys(FIELDS)
    .filter((field) => failed[field])
    .map((field) => [field, errorFor(field)]);
  if (!failed.email && !failed.nominator_email && body.email.toLowerCase() === body.nominator_email.toLowerCase()) {
    errors.push(["nominator_email", msg.errorSameNominator]);
  }
  return { body, errors };
}

function clearErrors() {
  for (const { element, message } of Object.values(FIELDS)) {
    fieldError(element, message);
  }
}

/** Show each error next to its field and put the keyboard on the first one. */
function showErrors(errors) {
  for (const [field, text] of errors) {
    fieldError(FIELDS[field].element, FIELDS[field].message, text);
  }
  show(status, msg.msgCheck, "error");
  const first = FIELDS[errors[0][0]].element;
  (first.matches("fieldset") ? first.querySelector("input") : first).focus();
}

for (const { element, message } of Object.values(FIELDS)) {
  const event = element.matches("select, fieldset") ? "change" : "input";
  element.addEventListener(event, () => fieldError(element, message));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (button.disabled) {
    return;
  }
  clearErrors();
  const { body, errors } = read();
  if (errors.length > 0) {
    showErrors(errors);
    return;
  }
  button.disabled = true;
  form.setAttribute("aria-busy", "true");
  show(status, msg.msgSending);
  try {
    await call("POST", "/api/v1/applications", { body });
  } catch (error) {
    if (error instanceof ApiError && error.field && FIELDS[error.field]) {
      showErrors([[error.field, errorFor(error.field) || error.message]]);
    } else {
      show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
    }
    return;
  } finally {
    button.disabled = false;
    form.removeAttribute("aria-busy");
  }
  form.hidden = true;
  document.getElementById("apply-done-text").textContent = fill(msg.msgSent, { email: body.email });
  done.hidden = false;
  document.getElementById("apply-done-title").focus();
});
