// The password policy of the activation page: at least MIN_LENGTH characters and a zxcvbn
// strength of at least MIN_SCORE (0–4), estimated by @zxcvbn-ts with its common dictionaries
// (served from our origin, see webmail/assets.py). The page's texts say the same numbers.
import { ZxcvbnFactory } from "../vendor/zxcvbn-ts/core/index.mjs";
import { adjacencyGraphs, dictionary } from "../vendor/zxcvbn-ts/language-common/index.mjs";

export const MIN_LENGTH = 12;
export const MIN_SCORE = 3;

const zxcvbn = new ZxcvbnFactory({ dictionary, graphs: adjacencyGraphs, useLevenshteinDistance: true });

/**
 * @typedef {object} Assessment
 * @property {number} length characters (code points) after NFKC, as the password is hashed
 * @property {number} score 0 (very weak) to 4 (very strong)
 * @property {string|null} warning a zxcvbn warning key ("common", "keyPattern", …) or null
 * @property {boolean} longEnough
 * @property {boolean} strongEnough
 * @property {boolean} acceptable both
 */

/**
 * @param {string} password
 * @param {string[]} [personal] words of the member's name and address, which make a password weak
 * @returns {Assessment}
 */
export function assess(password, personal = []) {
  const length = [...password.normalize("NFKC")].length;
  const result = zxcvbn.check(password, personal);
  const longEnough = length >= MIN_LENGTH;
  const strongEnough = result.score >= MIN_SCORE;
  return {
    length,
    score: result.score,
    warning: result.feedback.warning ?? null,
    longEnough,
    strongEnough,
    acceptable: longEnough && strongEnough,
  };
}

/**
 * The words of a name and an e-mail address that a password should not lean on.
 * @param {...string} texts
 * @returns {string[]}
 */
export function personalWords(...texts) {
  const words = new Set(["isecom"]);
  for (const text of texts) {
    for (const word of String(text).toLowerCase().split(/[\s@._+-]+/u)) {
      if (word.length >= 3) {
        words.add(word);
      }
    }
  }
  return [...words];
}

/** zxcvbn warning keys → the data-warning-* messages of templates/_password.html. */
const WARNINGS = {
  straightRow: "warningStraightRow",
  keyPattern: "warningKeyPattern",
  simpleRepeat: "warningSimpleRepeat",
  extendedRepeat: "warningExtendedRepeat",
  sequences: "warningSequences",
  recentYears: "warningRecentYears",
  dates: "warningDates",
  topTen: "warningTopTen",
  topHundred: "warningTopHundred",
  common: "warningCommon",
  similarToCommon: "warningSimilarToCommon",
  wordByItself: "warningWordByItself",
  namesByThemselves: "warningNamesByThemselves",
  commonNames: "warningCommonNames",
  userInputs: "warningUserInputs",
};

/**
 * The meter of the new-password fields (templates/_password.html: #new-password,
 * #strength-meter, #strength-label, #strength-warning, #password-rules): call the returned
 * function to assess the typed password and show the result.
 * @param {DOMStringMap} messages the page's data-* messages (strength_messages())
 * @param {() => string[]} [personal] the words the password should not lean on
 * @returns {() => Assessment}
 */
export function passwordMeter(messages, personal = () => []) {
  const $ = (id) => document.getElementById(id);
  return () => {
    const value = $("new-password").value;
    const result = assess(value, personal());
    $("strength-meter").value = value ? result.score : 0;
    $("strength-label").textContent = value ? messages[`strength-${result.score}`] : "";
    $("strength-warning").textContent =
      value && result.warning ? (messages[WARNINGS[result.warning]] ?? "") : "";
    const rules = $("password-rules");
    rules.querySelector('[data-rule="length"]').classList.toggle("met", result.longEnough);
    rules.querySelector('[data-rule="score"]').classList.toggle("met", result.strongEnough);
    return result;
  };
}
