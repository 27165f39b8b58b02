// The administration page's view of the outbox (GET /api/v1/admin/outbox): how many mails are
// retrying or were given up, and the newest of them with the kind of error. No address and no
// content: the template name tells what kind of mail it was.
import { fill, show } from "./page.js";

const $ = (id) => document.getElementById(id);

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

/**
 * @param {(method: string, path: string) => Promise<any>} api the page's API caller
 * @param {Intl.DateTimeFormat} dates
 */
export async function loadOutbox(api, dates) {
  const msg = $("outbox-health").dataset;
  const health = await api("GET", "/api/v1/admin/outbox");
  const summary = $("outbox-summary");
  if (health.retrying === 0 && health.given_up === 0) {
    show(summary, msg.msgHealthy, "ok");
  } else {
    show(summary, fill(msg.msgSummary, health).replace(/[\u2068\u2069]/g, ""), "error");
  }
  $("outbox-rows").replaceChildren(
    ...health.recent.map((p) => {
      const tr = document.createElement("tr");
      tr.dataset.id = String(p.id);
      const next = p.next_attempt_at ? dates.format(new Date(p.next_attempt_at)) : msg.msgGivenUp;
      tr.append(cell(p.template), cell(dates.format(new Date(p.created_at))), cell(String(p.attempts)), cell(p.error), cell(next));
      return tr;
    }),
  );
  $("outbox-table").hidden = health.recent.length === 0;
}
