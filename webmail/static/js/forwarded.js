// The forwarding chain of a message (PROTOCOL.md §6.3 `forwarded`): the messages this one forwards,
// oldest first, as the member who forwarded it stated them inside the signed payload. Each hop
// names the original sender by member id only; the read view shows who that is from the key
// directory — name, agency and country as certified, each checked by the key ring — so a reader
// sees which jurisdictions the mail came through. A hop whose keys cannot be checked is shown as
// such, never with a name the reader cannot trust.
import { fill } from "./page.js";

/**
 * Draw the chain of `payload.forwarded` into the read view (hidden when empty).
 * @param {object} payload the opened payload
 * @param {{member: (uid: string) => Promise<object>}} mail the mail core (key ring look-ups)
 * @param {DOMStringMap} msg the page's messages
 * @param {{date: (text: string) => string, region: (code: string) => string, reason: (r: string) => string}} format
 * @returns {Promise<void>} once every hop is drawn (the look-ups run side by side)
 */
export async function showForwarded(payload, mail, msg, format) {
  const box = document.getElementById("read-forwarded-box");
  const list = document.getElementById("read-forwarded");
  const hops = Array.isArray(payload.forwarded) ? payload.forwarded : [];
  list.replaceChildren();
  box.hidden = hops.length === 0;
  if (hops.length === 0) {
    return;
  }
  const rows = hops.map((hop) => {
    const li = document.createElement("li");
    li.dataset.member = hop.from;
    li.textContent = msg.msgLoading;
    list.append(li);
    return li;
  });
  await Promise.all(
    hops.map(async (hop, at) => {
      const li = rows[at];
      const date = format.date(hop.date);
      try {
        const member = await mail.member(hop.from);
        const who = member.verified?.approval;
        if (member.problem || !who) {
          throw Object.assign(new Error("unchecked"), { reason: member.problem ?? "format" });
        }
        li.dataset.state = "verified";
        li.textContent = fill(msg.msgForwardedHop, {
          name: who.name,
          agency: who.agency,
          country: format.region(who.country),
          date,
        });
      } catch (error) {
        li.dataset.state = "unverified";
        li.textContent = fill(msg.msgForwardedUnknown, { reason: format.reason(error.reason ?? "format"), date });
      }
    }),
  );
}
