// Small helpers shared by the page scripts. Every text they show comes from data-msg-*
// attributes that the server rendered in the page's language.

const FSI = "\u2068"; // first strong isolate …
const PDI = "\u2069"; // … pop directional isolate

/**
 * Fill a gettext-style template: "%(name)s" is replaced by values.name, isolated (Unicode
 * FSI…PDI) so that a Latin name or address inside Arabic text, or the reverse, keeps its order.
 * @param {string} template
 * @param {Record<string, string|number>} values
 * @returns {string}
 */
export function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => FSI + String(values[key] ?? "") + PDI);
}

/**
 * Show a message in a status element ("status", "status ok", "status error").
 * @param {HTMLElement} element
 * @param {string} text
 * @param {""|"ok"|"error"} [kind]
 */
export function show(element, text, kind = "") {
  element.textContent = text;
  element.className = kind ? `status ${kind}` : "status";
}

/**
 * Show or clear the error of one input: the message element is tied to the input by
 * aria-describedby in the template, and aria-invalid tells assistive technology.
 * @param {HTMLInputElement} input
 * @param {HTMLElement} message
 * @param {string} [text] nothing clears the error
 */
export function fieldError(input, message, text = "") {
  message.textContent = text;
  if (text) {
    input.setAttribute("aria-invalid", "true");
  } else {
    input.removeAttribute("aria-invalid");
  }
}

/**
 * The text for an API error: the page's own translation for the codes it knows, otherwise
 * the server's message inside the page's generic template.
 * @param {import("./api.js").ApiError} error
 * @param {DOMStringMap} messages data-msg-* of the page (dataset)
 * @param {Record<string, string>} [byCode] error code -> key in messages
 * @returns {string}
 */
export function errorText(error, messages, byCode = {}) {
  if (error.code === "network") {
    return messages.msgNetwork;
  }
  if (error.code === "rate_limited") {
    return messages.msgThrottled;
  }
  const key = byCode[error.code];
  if (key) {
    return messages[key];
  }
  return fill(messages.msgRefused, { message: error.message || String(error.status) });
}

/** Wait for the next frame, so the page paints a change before more work starts. */
export function nextFrame() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}
