// Recipient suggestions in the composer's To and Cc fields: an ARIA 1.2 combobox (list
// autocomplete, no automatic selection) over the directory search, GET /api/v1/profiles.
//
// The address being typed is the part of the field around the caret between commas, so several
// recipients work. From MIN_CHARS characters on, DEBOUNCE_MS after typing stops, it is looked up
// by name, email, agency or position (`q`), and, when it begins the name of a country of the
// country picker, among that country's members too (`country`); only active members come back.
// A newer look-up aborts the one still on its way, and an answer that arrives late is dropped.
// ArrowDown/ArrowUp move through the list, Enter or Tab put the chosen address in place of the
// typed text (followed by ", "), Escape closes the list. With fewer characters typed, ArrowDown
// offers the members of the country chosen in the picker (`fallback`).

export const MIN_CHARS = 2;
export const DEBOUNCE_MS = 200;
export const SHOWN = 10;
const MAX_COUNTRIES = 2;

const regions = new Intl.DisplayNames([document.documentElement.lang || "en"], { type: "region" });

/** Lower case without accents, for comparing country names as typed. */
function folded(text) {
  return text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

/** The comma-separated segment around `caret`: its bounds and its trimmed text. */
export function segmentAt(value, caret) {
  const before = value.slice(0, caret);
  const start = Math.max(before.lastIndexOf(","), before.lastIndexOf(";")) + 1;
  const rest = value.slice(caret);
  const next = rest.search(/[,;]/);
  const end = next < 0 ? value.length : caret + next;
  return { start, end, term: value.slice(start, end).trim() };
}

export class RecipientSuggest {
  /**
   * @param {HTMLInputElement} input the To or Cc field
   * @param {HTMLUListElement} list its role=listbox element (hidden)
   * @param {{countries?: () => Array<{code: string, name: string}>, fallback?: () => Array<object>,
   *          status?: HTMLElement, countText?: (n: number) => string}} options
   */
  constructor(input, list, { countries = () => [], fallback = () => [], status = null, countText = String } = {}) {
    this.input = input;
    this.list = list;
    this.countries = countries;
    this.fallback = fallback;
    this.status = status;
    this.countText = countText;
    this.items = [];
    this.active = -1;
    this.timer = null;
    this.controller = null;
    this.asked = 0;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.removeAttribute("list"); // this list replaces the browser's datalist
    input.addEventListener("input", () => this.typed());
    input.addEventListener("keydown", (event) => this.key(event));
    input.addEventListener("blur", () => this.close());
    list.addEventListener("mousedown", (event) => event.preventDefault()); // keep the focus in the field
    list.addEventListener("click", (event) => {
      const option = event.target.closest("[role=option]");
      if (option) {
        this.pick(Number(option.dataset.index));
      }
    });
  }

  typed() {
    clearTimeout(this.timer);
    const { term } = segmentAt(this.input.value, this.input.selectionStart ?? this.input.value.length);
    if (term.length < MIN_CHARS) {
      this.controller?.abort();
      this.controller = null;
      this.asked += 1; // an answer still on its way is stale
      this.close();
      return;
    }
    this.timer = setTimeout(() => this.lookUp(term), DEBOUNCE_MS);
  }

  /** Countries of the picker whose name begins with the typed text. */
  countriesFor(term) {
    if (term.length < 3) {
      return [];
    }
    const wanted = folded(term);
    return this.countries()
      .filter((c) => folded(c.name).startsWith(wanted))
      .slice(0, MAX_COUNTRIES)
      .map((c) => c.code);
  }

  async lookUp(term) {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const asked = ++this.asked;
    const queries = [`q=${encodeURIComponent(term)}`, ...this.countriesFor(term).map((c) => `country=${c}`)];
    let answers;
    try {
      answers = await Promise.all(
        queries.map(async (query) => {
          const response = await fetch(`/api/v1/profiles?${query}`, {
            headers: { Accept: "application/json" },
            credentials: "same-origin",
            cache: "no-store",
            signal: controller.signal,
          });
          return response.ok ? (await response.json()).profiles : [];
        }),
      );
    } catch {
      return; // aborted by a newer look-up, or the network is down: no suggestions
    }
    if (asked !== this.asked || document.activeElement !== this.input) {
      return;
    }
    const seen = new Set();
    const found = answers.flat().filter((p) => !seen.has(p.email) && seen.add(p.email));
    this.show(found.slice(0, SHOWN));
  }

  show(items) {
    this.items = items;
    this.active = -1;
    this.input.removeAttribute("aria-activedescendant");
    this.list.replaceChildren(
      ...items.map((p, index) => {
        const li = document.createElement("li");
        li.id = `${this.list.id}-${index}`;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.dataset.index = String(index);
        li.dataset.email = p.email;
        const name = document.createElement("bdi");
        name.className = "suggest-name";
        name.textContent = p.name;
        const where = document.createElement("span");
        where.className = "suggest-where";
        const country = p.country ? regions.of(p.country) ?? p.country : "";
        where.textContent = [p.agency, country].filter(Boolean).join(" · ");
        const email = document.createElement("span");
        email.className = "suggest-email";
        email.dir = "ltr";
        email.textContent = p.email;
        li.append(name, " ", where, " ", email);
        return li;
      }),
    );
    const open = items.length > 0;
    this.list.hidden = !open;
    this.input.setAttribute("aria-expanded", String(open));
    if (this.status) {
      this.status.textContent = this.countText(items.length);
    }
  }

  close() {
    clearTimeout(this.timer);
    this.items = [];
    this.active = -1;
    this.list.hidden = true;
    this.list.replaceChildren();
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  move(step) {
    const n = this.items.length;
    this.active = this.active < 0 ? (step > 0 ? 0 : n - 1) : (this.active + step + n) % n;
    for (const option of this.list.children) {
      const on = Number(option.dataset.index) === this.active;
      option.setAttribute("aria-selected", String(on));
      option.classList.toggle("active", on);
      if (on) {
        this.input.setAttribute("aria-activedescendant", option.id);
        option.scrollIntoView({ block: "nearest" });
      }
    }
  }

  key(event) {
    const open = !this.list.hidden && this.items.length > 0;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!open) {
        const { term } = segmentAt(this.input.value, this.input.selectionStart ?? 0);
        if (term.length >= MIN_CHARS || event.key === "ArrowUp") {
          return;
        }
        this.show(this.fallback().slice(0, SHOWN * 5)); // the picker's country
        if (this.list.hidden) {
          return;
        }
      }
      event.preventDefault();
      this.move(event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      this.close();
    } else if ((event.key === "Enter" || event.key === "Tab") && open && this.active >= 0) {
      if (event.key === "Enter") {
        event.preventDefault(); // not a submit of the form
      }
      this.pick(this.active);
    }
  }

  /** Put the chosen member's address in place of the typed segment. */
  pick(index) {
    const chosen = this.items[index];
    if (!chosen) {
      return;
    }
    const value = this.input.value;
    const { start, end } = segmentAt(value, this.input.selectionStart ?? value.length);
    const head = value.slice(0, start).trimEnd();
    const tail = value.slice(end).replace(/^[,;\s]+/, "");
    const before = head ? `${head} ` : "";
    const inserted = `${chosen.email}, `;
    this.input.value = before + inserted + tail;
    const caret = before.length + inserted.length;
    this.input.setSelectionRange(caret, caret);
    this.close();
    this.asked += 1;
    this.input.dispatchEvent(new Event("input", { bubbles: true })); // autosave, side panel
    this.input.dispatchEvent(new Event("change", { bubbles: true }));
  }
}
