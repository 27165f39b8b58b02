// The directory profile form: sends the profile as JSON (PUT /api/v1/profiles/{id}) with the
// session's CSRF token; a refused field is shown next to its input.
import { ApiError, call } from "./api.js";
import { errorText, fieldError, show } from "./page.js";

const form = document.getElementById("profile-form");

if (form) {
  const msg = form.dataset;
  const status = document.getElementById("profile-status");
  const office = document.getElementById("office-fields");
  const fields = ["position", "phone", "languages", "timezone", "hours"];
  let csrf = null;

  const checked = (name) => [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
  const sync = () => {
    office.hidden = checked("availability")[0] === "always";
  };
  for (const radio of form.querySelectorAll("input[name=availability]")) {
    radio.addEventListener("change", sync);
  }
  sync();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const name of fields) {
      const input = document.getElementById(name) ?? document.getElementById("languages-other");
      fieldError(input, document.getElementById(`${name}-error`));
    }
    const other = document.getElementById("languages-other").value.split(/[,;\s]+/).map((s) => s.trim().toLowerCase()).filter(Boolean);
    const body = {
      position: form.elements.position.value,
      phone: form.elements.phone.value,
      languages: [...checked("languages"), ...other],
      availability: checked("availability")[0] ?? "office",
      timezone: form.elements.timezone.value,
      hours: form.elements.hours.value,
      expertise: checked("expertise"),
    };
    show(status, msg.msgSaving);
    try {
      csrf ??= (await call("GET", "/api/v1/session")).csrf_token;
      await call("PUT", `/api/v1/profiles/${encodeURIComponent(msg.member)}`, { body, csrf });
      show(status, msg.msgSaved, "ok");
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        window.location.assign("/signin");
        return;
      }
      const text = error instanceof ApiError ? errorText(error, msg) : String(error);
      if (error instanceof ApiError && fields.includes(error.field)) {
        const input = document.getElementById(error.field) ?? document.getElementById("languages-other");
        fieldError(input, document.getElementById(`${error.field}-error`), error.message);
        input.focus();
      }
      show(status, text, "error");
    }
  });
}
