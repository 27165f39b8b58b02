// The knowledge library's pages that change something: the upload form (with a progress bar,
// speed and time left), removing a document, and the administrators' list of library editors.
// Search and results need no script: the server renders them from the query string.
import { ApiError, call } from "./api.js";
import { errorText, fieldError, fill, show } from "./page.js";

let csrf = null;

async function session() {
  if (csrf === null) {
    csrf = (await call("GET", "/api/v1/session")).csrf_token;
  }
  return csrf;
}

function reportError(status, error, msg) {
  if (error instanceof ApiError && error.status === 401) {
    window.location.assign("/signin");
    return;
  }
  show(status, error instanceof ApiError ? errorText(error, msg) : String(error), "error");
}

/** Format a byte count for people: 1.2 MB, 830 kB. */
function bytes(n) {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return new Intl.NumberFormat(document.documentElement.lang, {
    style: "unit",
    unit: units[unit],
    unitDisplay: "short",
    maximumFractionDigits: 1,
  }).format(value);
}

/**
 * POST a multipart form with XMLHttpRequest, which reports upload progress (fetch does not).
 * @returns {Promise<any>} the decoded JSON answer
 */
function send(form, token, progress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/library/documents");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRF-Token", token);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => progress(event.loaded, event.total, false));
    xhr.upload.addEventListener("load", () => progress(1, 1, true));
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(xhr.response);
        return;
      }
      const error = xhr.response?.error ?? {};
      reject(new ApiError(xhr.status, error.code ?? "unknown", error.message ?? "", error.field ?? null));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", "", null)));
    xhr.send(form);
  });
}

function upload(root) {
  const msg = root.dataset;
  const form = document.getElementById("upload-form");
  const file = document.getElementById("upload-file");
  const title = document.getElementById("upload-title");
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  const submit = document.getElementById("upload-submit");
  const fileError = document.getElementById("upload-file-error");
  const titleError = document.getElementById("upload-title-error");
  const max = Number(msg.maxBytes);

  file.addEventListener("change", () => {
    const chosen = file.files[0];
    if (chosen && !title.value.trim()) {
      title.value = chosen.name.replace(/\.[^.]+$/, "").replace(/[_-]+/g, " ");
    }
    fieldError(file, fileError, chosen && chosen.size > max ? fill(msg.msgTooLarge, { max: bytes(max) }) : "");
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = file.files[0];
    fieldError(file, fileError, chosen ? "" : msg.msgNoFile);
    fieldError(title, titleError, title.value.trim() ? "" : msg.msgNoTitle);
    if (!chosen) {
      file.focus();
      return;
    }
    if (chosen.size > max) {
      fieldError(file, fileError, fill(msg.msgTooLarge, { max: bytes(max) }));
      file.focus();
      return;
    }
    if (!title.value.trim()) {
      title.focus();
      return;
    }
    const data = new FormData();
    for (const name of ["title", "summary", "kind", "region", "language", "tags"]) {
      data.append(name, form.elements[name].value);
    }
    data.append("file", chosen, chosen.name); // last: the server checks the fields first
    submit.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    const started = performance.now();
    const percent = new Intl.NumberFormat(document.documentElement.lang, { style: "percent" });
    try {
      const token = await session();
      const created = await send(data, token, (loaded, total, finished) => {
        if (finished) {
          bar.value = 100;
          show(status, msg.msgReading);
          return;
        }
        const seconds = Math.max((performance.now() - started) / 1000, 0.001);
        const speed = loaded / seconds;
        const left = speed > 0 ? Math.ceil((total - loaded) / speed) : 0;
        bar.value = total ? (100 * loaded) / total : 0;
        const leftText = new Intl.NumberFormat(document.documentElement.lang, {
          style: "unit",
          unit: "second",
          unitDisplay: "long",
        }).format(left);
        show(
          status,
          fill(msg.msgProgress, { percent: percent.format(total ? loaded / total : 0), speed: bytes(speed), left: leftText }),
        );
      });
      show(status, msg.msgDone, "ok");
      window.location.assign(`/library/${encodeURIComponent(created.id)}`);
    } catch (error) {
      bar.hidden = true;
      if (error instanceof ApiError && error.field === "file") {
        fieldError(file, fileError, error.message);
      }
      reportError(status, error, msg);
    } finally {
      submit.disabled = false;
    }
  });
}

function removal(root) {
  const msg = root.dataset;
  const button = document.getElementById("library-delete");
  const status = document.getElementById("library-doc-status");
  if (!button) {
    return;
  }
  button.addEventListener("click", async () => {
    if (!window.confirm(msg.msgConfirmDelete)) {
      return;
    }
    button.disabled = true;
    try {
      await call("DELETE", `/api/v1/library/documents/${encodeURIComponent(msg.docId)}`, { csrf: await session() });
      window.location.assign("/library");
    } catch (error) {
      button.disabled = false;
      reportError(status, error, msg);
    }
  });
}

function editors(root) {
  const msg = root.dataset;
  const form = document.getElementById("editors-form");
  const email = document.getElementById("editors-email");
  const list = document.getElementById("editors-list");
  const status = document.getElementById("editors-status");

  function row(member) {
    const li = document.createElement("li");
    li.className = "application contact-row";
    const name = document.createElement("bdi");
    name.textContent = member.name;
    const address = document.createElement("bdi");
    address.className = "hint";
    address.textContent = member.email;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "button danger";
    remove.textContent = msg.msgRemove;
    remove.setAttribute("aria-label", fill(msg.msgRemoveLabel, { name: member.name }));
    remove.addEventListener("click", async () => {
      remove.disabled = true;
      try {
        await call("DELETE", `/api/v1/library/editors/${encodeURIComponent(member.id)}`, { csrf: await session() });
        show(status, fill(msg.msgRemoved, { name: member.name }), "ok");
        await load();
        email.focus();
      } catch (error) {
        remove.disabled = false;
        reportError(status, error, msg);
      }
    });
    li.append(name, address, remove);
    return li;
  }

  async function load() {
    const found = await call("GET", "/api/v1/library/editors");
    if (found.editors.length) {
      list.replaceChildren(...found.editors.map(row));
    } else {
      const empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = msg.msgNone;
      list.replaceChildren(empty);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const member = await call("POST", "/api/v1/library/editors", {
        body: { email: email.value.trim() },
        csrf: await session(),
      });
      show(status, fill(msg.msgAdded, { name: member.name }), "ok");
      email.value = "";
      await load();
    } catch (error) {
      reportError(status, error, msg);
    }
  });
  load().catch((error) => reportError(status, error, msg));
}

const pages = { "library-upload": upload, "library-document": removal, "library-editors": editors };
for (const [id, start] of Object.entries(pages)) {
  const root = document.getElementById(id);
  if (root) {
    start(root);
  }
}
