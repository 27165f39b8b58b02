// The country profile form: saves a new revision made from the one the page showed
// (PUT /api/v1/countries/{CC} with base_revision). When someone saved in between, the server
// refuses with 409 and the text stays in the form, so nothing typed is lost.
import { ApiError, call } from "./api.js";
import { errorText, fill, show } from "./page.js";

const form = document.getElementById("country-form");

if (form) {
  const msg = form.dataset;
  const status = document.getElementById("country-status");
  let csrf = null;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const sections = {};
    for (const area of form.querySelectorAll("textarea[data-section]")) {
      sections[area.dataset.section] = area.value;
    }
    const body = {
      base_revision: Number(form.dataset.base),
      freezing: form.elements.freezing.value,
      freezing_limit: form.elements.freezing_limit.value,
      ncbc: form.querySelector("input[name=ncbc]:checked")?.value ?? "",
      ncbc_text: form.elements.ncbc_text.value,
      mla_route: form.elements.mla_route.value,
      central_authority: form.elements.central_authority.value,
      working_languages: [...form.querySelectorAll("input[name=working_languages]:checked")].map((i) => i.value),
      sections,
      last_reviewed: form.elements.last_reviewed.value || null,
    };
    show(status, msg.msgSaving);
    try {
      csrf ??= (await call("GET", "/api/v1/session")).csrf_token;
      const saved = await call("PUT", `/api/v1/countries/${encodeURIComponent(msg.country)}`, { body, csrf });
      form.dataset.base = String(saved.profile.revision);
      form.dataset.state = "saved";
      show(status, fill(msg.msgSaved, { n: saved.profile.revision }), "ok");
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        window.location.assign("/signin");
        return;
      }
      if (error instanceof ApiError && error.code === "conflict") {
        form.dataset.state = "conflict";
        show(status, fill(msg.msgConflict, { message: error.message }), "error");
        return;
      }
      show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
    }
  });
}
