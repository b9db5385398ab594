// @ts-check
/**
 * The console's blocked terms panel (templates/moderation/console.html, moderators only):
 * the terms with what they do, how they match and how often they held or refused a
 * comment; a new term's dry run before it is saved; changing and removing a term.
 *
 * It is a client of the REST API (`/api/blocked-terms/`, moderation/api.py) on the
 * moderator's session: the same views, authorisation, services and moderation log as
 * any other client, and the dry run is the admin's "Check" (moderation.selectors.dry_run)
 * on this stream's last 1,000 comments. Terms apply to every stream.
 *
 * The counters come back with the list: it is read again every REFRESH_MS while the page
 * is in view, and soon after the socket tells of a held comment (a term may have held it),
 * so a hold shows within a second or two; refusals, which no socket hears of, show at the
 * next read.
 */

/**
 * @typedef {{held: number, refused: number}} Hits
 * @typedef {"reject" | "hold"} TermAction
 * @typedef {"word" | "forms"} TermMatch
 *
 * @typedef {object} BlockedTerm
 * @property {string} id
 * @property {string} term
 * @property {TermAction} action
 * @property {TermMatch} match
 * @property {Hits} hitsLastHour
 * @property {Hits} hitsAllTime
 *
 * @typedef {{matched: number, of: number, examples: string[]}} DryRun
 *
 * @typedef {object} TermsConfig
 * @property {string} url the list; term N is url + "N/"
 * @property {string} checkUrl the dry run
 */

/** How often the counters are read while the page is in view. */
export const REFRESH_MS = 30_000;
/** After the socket tells of a hold by a term: long enough to gather a burst into one read. */
const SOON_MS = 700;
/** Typing pauses this long before the dry run is asked for. */
const CHECK_DELAY_MS = 350;
/** A first click on Remove asks; a second within this time removes. */
const CONFIRM_MS = 4000;
// The dry run's examples, cut to fit the narrow column.
const EXAMPLES = 2;
const EXAMPLE_CHARS = 40;

// The choices of the new term's selects and of each row's, first the default of the form.
// "All forms" is the model's "word forms and look-alikes", said in full as its tooltip.
export const ACTIONS = /** @type {const} */ ({ hold: "Hold for review", reject: "Refuse" });
export const MATCHES = /** @type {const} */ ({ forms: "All forms", word: "Whole word" });
const FORMS_HINT = "plurals and other forms, look-alikes (sp0iler), stretched letters (spoooiler)";

/**
 * A counter as a moderator scans it: what the term did, zeros left out ("3 held", "0").
 * @param {Hits} hits
 */
export function hitsText(hits) {
  const parts = [];
  if (hits.held) parts.push(`${hits.held} held`);
  if (hits.refused) parts.push(`${hits.refused} refused`);
  return parts.join(" · ") || "0";
}

/**
 * What the dry run found, as the moderator reads it before saving.
 * @param {DryRun} run
 */
export function dryRunText(run) {
  if (run.of === 0) return "No comments on this stream yet to check it against.";
  const scope = run.of === 1000 ? "the last 1,000 comments" : `the ${run.of} comments so far`;
  const found = `Would have matched ${run.matched} of ${scope} on this stream`;
  if (!run.examples.length) return `${found}.`;
  const quoted = run.examples.slice(0, EXAMPLES).map((text) => `“${text.length > EXAMPLE_CHARS ? `${text.slice(0, EXAMPLE_CHARS - 1)}…` : text}”`);
  return `${found}: ${quoted.join(", ")}`;
}

/**
 * The message of an API error body (`{code, message}`), or a fallback.
 * @param {Response} response
 */
async function errorText(response) {
  try {
    const body = await response.json();
    if (typeof body?.message === "string" && body.message) return body.message;
  } catch {
    // not JSON: a proxy's page, say
  }
  return `The server answered ${response.status}.`;
}

/**
 * @param {string} tag @param {string} className @param {string} [text]
 */
function element(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * @param {Record<string, string>} choices @param {string} chosen @param {string} label
 */
function choiceSelect(choices, chosen, label) {
  const select = document.createElement("select");
  select.setAttribute("aria-label", label);
  fillChoices(select, choices, chosen);
  return select;
}

/** @param {HTMLSelectElement} select @param {Record<string, string>} choices @param {string} chosen */
function fillChoices(select, choices, chosen) {
  for (const [value, text] of Object.entries(choices)) {
    const option = new Option(text, value, false, value === chosen);
    if (value === "forms") option.title = FORMS_HINT;
    select.append(option);
  }
}

/**
 * Run the panel inside `panel`; returns `refreshSoon`, for the console to call when the
 * socket tells of a comment a term held.
 * @param {HTMLElement} panel
 * @param {{terms: TermsConfig, streamId: string, csrfToken: string}} config
 */
export function startTermsPanel(panel, config) {
  /** @template {Element} T @param {string} selector @param {new () => T} type @returns {T} */
  const part = (selector, type) => {
    const found = panel.querySelector(selector);
    if (!(found instanceof type)) throw new Error(`blocked terms panel: missing ${selector}`);
    return found;
  };
  const form = part("[data-term-form]", HTMLFormElement);
  const input = part("[data-term-input]", HTMLInputElement);
  const actionSelect = part("[data-term-action]", HTMLSelectElement);
  const matchSelect = part("[data-term-match]", HTMLSelectElement);
  const details = part("[data-term-details]", HTMLElement);
  const dryRun = part("[data-term-dry-run]", HTMLElement);
  const addButton = part("[data-term-add]", HTMLButtonElement);
  const list = part("[data-term-list]", HTMLOListElement);
  const empty = part("[data-terms-empty]", HTMLElement);
  const count = part("[data-terms-count]", HTMLElement);
  const status = part("[data-terms-status]", HTMLElement);
  const updated = part("[data-terms-updated]", HTMLElement);

  fillChoices(actionSelect, ACTIONS, "hold");
  fillChoices(matchSelect, MATCHES, "forms");

  /** @type {BlockedTerm[]} */
  let terms = [];
  /** The typed term, action and match the shown dry run is for ("" when none is shown). */
  let checkedFor = "";
  let checkTimer = 0;
  let soonTimer = 0;
  /** A read started before a change finished would put the old values back. */
  let readSerial = 0;

  const typed = () => JSON.stringify([input.value.trim().toLowerCase(), actionSelect.value, matchSelect.value]);
  const headers = () => ({ Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": config.csrfToken });

  /** @param {string} text @param {boolean} isError */
  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("is-error", isError);
  }

  async function refresh() {
    const serial = ++readSerial;
    try {
      const response = await fetch(config.terms.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(await errorText(response));
      const read = /** @type {BlockedTerm[]} */ (await response.json());
      if (serial !== readSerial) return;
      terms = read;
      render();
      updated.textContent = `Counters as of ${new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false })}`;
    } catch (error) {
      if (serial === readSerial) say(`Could not read the terms: ${/** @type {Error} */ (error).message}`, true);
    }
  }

  function refreshSoon() {
    clearTimeout(soonTimer);
    soonTimer = window.setTimeout(refresh, SOON_MS);
  }

  function render() {
    const focused = document.activeElement instanceof HTMLElement && list.contains(document.activeElement)
      ? { id: document.activeElement.closest("li")?.dataset.termId, role: document.activeElement.dataset.role }
      : null;
    list.replaceChildren(...terms.map(termRow));
    empty.hidden = terms.length > 0;
    count.textContent = String(terms.length);
    count.classList.toggle("is-zero", terms.length === 0);
    // A read every 30 s redraws the rows: the keyboard stays where it was.
    if (focused?.id) {
      const again = list.querySelector(`li[data-term-id="${focused.id}"] [data-role="${focused.role}"]`);
      if (again instanceof HTMLElement) again.focus();
    }
    if (input.value.trim()) showCheck();
  }

  /** @param {BlockedTerm} term */
  function termRow(term) {
    const row = /** @type {HTMLLIElement} */ (element("li", "term-row"));
    row.dataset.termId = term.id;
    const head = element("div", "term-head");
    const remove = /** @type {HTMLButtonElement} */ (element("button", "mod-button term-remove", "Remove"));
    remove.type = "button";
    remove.dataset.role = "remove";
    remove.setAttribute("aria-label", `Remove “${term.term}”`);
    remove.addEventListener("click", () => removeTerm(term, remove));
    head.append(element("span", "term-text", term.term), remove);
    const controls = element("div", "term-controls");
    const action = choiceSelect(ACTIONS, term.action, `What “${term.term}” does`);
    action.dataset.role = "action";
    action.addEventListener("change", () => changeTerm(term, { action: /** @type {TermAction} */ (action.value) }));
    const match = choiceSelect(MATCHES, term.match, `How “${term.term}” matches`);
    match.dataset.role = "match";
    match.addEventListener("change", () => changeTerm(term, { match: /** @type {TermMatch} */ (match.value) }));
    controls.append(action, match);
    const hits = element("p", "term-hits");
    const hour = element("span", "", hitsText(term.hitsLastHour));
    hour.dataset.hitsHour = "";
    const ever = element("span", "", hitsText(term.hitsAllTime));
    ever.dataset.hitsEver = "";
    hits.append(hour, " in the last hour · ", ever, " in all");
    row.append(head, controls, hits);
    return row;
  }

  /** @param {BlockedTerm} term @param {{action?: TermAction, match?: TermMatch}} change */
  async function changeTerm(term, change) {
    const what = change.action ? ACTIONS[change.action] : MATCHES[/** @type {TermMatch} */ (change.match)];
    say(`Changing “${term.term}”…`, false);
    readSerial++;
    try {
      const response = await fetch(`${config.terms.url}${term.id}/`, {
        method: "PATCH",
        credentials: "same-origin",
        headers: headers(),
        body: JSON.stringify(change),
      });
      if (!response.ok) throw new Error(await errorText(response));
      const changed = /** @type {BlockedTerm} */ (await response.json());
      terms = terms.map((t) => (t.id === changed.id ? changed : t));
      say(`“${term.term}”: ${what.toLowerCase()}.`, false);
    } catch (error) {
      say(`“${term.term}” is unchanged: ${/** @type {Error} */ (error).message}`, true);
    }
    render();
  }

  /** @param {BlockedTerm} term @param {HTMLButtonElement} button */
  async function removeTerm(term, button) {
    if (!button.dataset.confirming) {
      button.dataset.confirming = "yes";
      button.textContent = "Confirm";
      button.classList.add("danger");
      button.setAttribute("aria-label", `Confirm: remove “${term.term}” from every stream`);
      say(`Press again to remove “${term.term}”.`, false);
      setTimeout(() => {
        if (!button.isConnected) return;
        delete button.dataset.confirming;
        button.textContent = "Remove";
        button.classList.remove("danger");
        button.setAttribute("aria-label", `Remove “${term.term}”`);
      }, CONFIRM_MS);
      return;
    }
    say(`Removing “${term.term}”…`, false);
    readSerial++;
    try {
      const response = await fetch(`${config.terms.url}${term.id}/`, { method: "DELETE", credentials: "same-origin", headers: headers(), body: "{}" });
      if (!response.ok && response.status !== 404) throw new Error(await errorText(response));
      terms = terms.filter((t) => t.id !== term.id);
      say(`“${term.term}” is no longer blocked.`, false);
      render();
      input.focus();
    } catch (error) {
      say(`“${term.term}” is still blocked: ${/** @type {Error} */ (error).message}`, true);
    }
  }

  /** The dry run for what is typed now, or why there is none; Block waits for it. */
  function showCheck() {
    const term = input.value.trim();
    details.hidden = !term;
    const existing = terms.find((t) => t.term.toLowerCase() === term.toLowerCase());
    if (existing) {
      checkedFor = "";
      dryRun.textContent = `“${existing.term}” is already blocked: change it below.`;
    }
    addButton.disabled = !term || !!existing || checkedFor !== typed();
    return { term, existing };
  }

  async function check() {
    const { term, existing } = showCheck();
    if (!term || existing) return;
    const asked = typed();
    const query = new URLSearchParams({ term, action: actionSelect.value, match: matchSelect.value, streamId: config.streamId });
    dryRun.textContent = "Checking the last 1,000 comments…";
    try {
      const response = await fetch(`${config.terms.checkUrl}?${query}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(await errorText(response));
      const run = /** @type {DryRun} */ (await response.json());
      if (asked !== typed()) return; // typed on meanwhile: that check is on its way
      checkedFor = asked;
      dryRun.textContent = dryRunText(run);
    } catch (error) {
      if (asked === typed()) dryRun.textContent = `Could not check it: ${/** @type {Error} */ (error).message}`;
    }
    showCheck();
  }

  function checkSoon() {
    // A change event that changed nothing (the same choice picked again) keeps the dry run
    // shown and Block enabled: otherwise Enter right after it would find Block disabled.
    if (checkedFor && checkedFor === typed()) return;
    checkedFor = "";
    addButton.disabled = true;
    clearTimeout(checkTimer);
    checkTimer = window.setTimeout(check, CHECK_DELAY_MS);
  }

  input.addEventListener("input", checkSoon);
  actionSelect.addEventListener("change", checkSoon);
  matchSelect.addEventListener("change", checkSoon);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && input.value) {
      event.preventDefault();
      input.value = "";
      checkSoon();
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { term } = showCheck();
    if (addButton.disabled) return; // Enter before the dry run came back: it shows first
    addButton.disabled = true;
    say(`Blocking “${term}”…`, false);
    readSerial++;
    try {
      const response = await fetch(config.terms.url, {
        method: "POST",
        credentials: "same-origin",
        headers: headers(),
        body: JSON.stringify({ term, action: actionSelect.value, match: matchSelect.value }),
      });
      if (!response.ok) throw new Error(await errorText(response));
      const blocked = /** @type {BlockedTerm} */ (await response.json());
      terms = [...terms.filter((t) => t.id !== blocked.id), blocked].sort((a, b) => a.term.localeCompare(b.term));
      say(`Blocked “${blocked.term}”: ${ACTIONS[blocked.action].toLowerCase()}, ${MATCHES[blocked.match].toLowerCase()}.`, false);
      input.value = "";
      checkedFor = "";
      dryRun.textContent = "";
      details.hidden = true;
      render();
      input.focus();
    } catch (error) {
      say(`Not blocked: ${/** @type {Error} */ (error).message}`, true);
      showCheck();
    }
  });

  setInterval(() => {
    if (document.visibilityState === "visible") refresh();
  }, REFRESH_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refresh();
  });
  refresh();
  return { refreshSoon };
}
