// Notice references in the message being written: CN-YYYY-NNNNN (corruption) and AF-YYYY-NNNNN
// (asset freeze). The subject and the body never leave the browser: only the reference numbers
// found in them are sent, to GET /api/v1/notices/lookup, and each is shown as a chip with its
// status (valid, not yet in force, expired, cancelled or unknown). Answers are cached per page.
import { call } from "./api.js";

export const NOTICE_REF = /\b(?:CN|AF)-\d{4}-\d{5}\b/gi;
const MAX_REFS = 20;
const WAIT_MS = 500;

/** The distinct references in the given texts, upper-case, in order of appearance. */
export function findRefs(...texts) {
  const found = [];
  for (const text of texts) {
    for (const match of text.matchAll(NOTICE_REF)) {
      const ref = match[0].toUpperCase();
      if (!found.includes(ref)) {
        found.push(ref);
      }
    }
  }
  return found.slice(0, MAX_REFS);
}

export function watchNotices({ subject, body, box }) {
  const list = box.querySelector("ul");
  const msg = box.dataset;
  const known = new Map(); // ref -> lookup answer
  let timer = null;

  function chip(ref) {
    const notice = known.get(ref);
    const state = notice?.status ?? "unknown";
    const li = document.createElement("li");
    li.className = `notice-chip notice-status-${state}`;
    li.dataset.ref = ref;
    const link = document.createElement("a");
    link.href = `/notices?q=${encodeURIComponent(ref)}`;
    link.target = "_blank";
    link.rel = "noopener";
    const code = document.createElement("code");
    code.dir = "ltr";
    code.textContent = ref;
    const label = document.createElement("span");
    label.className = "notice-chip-status";
    label.textContent = msg[`status${state[0].toUpperCase()}${state.slice(1)}`] ?? state;
    link.append(code, " · ", label);
    if (notice?.subject) {
      const who = document.createElement("bdi");
      who.textContent = notice.subject;
      link.append(" · ", who);
    }
    li.append(link);
    return li;
  }

  async function scan() {
    const refs = findRefs(subject.value, body.value);
    const missing = refs.filter((ref) => !known.has(ref));
    if (missing.length) {
      const query = missing.map((ref) => `ref=${encodeURIComponent(ref)}`).join("&");
      try {
        const found = await call("GET", `/api/v1/notices/lookup?${query}`);
        for (const notice of found.notices) {
          known.set(notice.reference, notice);
        }
      } catch {
        box.hidden = false;
        list.replaceChildren(Object.assign(document.createElement("li"), { textContent: msg.msgFailed }));
        return;
      }
    }
    box.hidden = refs.length === 0;
    list.replaceChildren(...refs.map(chip));
  }

  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(scan, WAIT_MS);
  };
  for (const field of [subject, body]) {
    field.addEventListener("input", later);
    field.addEventListener("focus", later);
  }
  return scan;
}

const box = document.getElementById("compose-notices");
const subject = document.getElementById("compose-subject");
const body = document.getElementById("compose-body");
if (box && subject && body) {
  watchNotices({ subject, body, box });
}
