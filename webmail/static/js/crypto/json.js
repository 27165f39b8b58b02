// Strict JSON (RFC 8259 / I-JSON, RFC 7493) for signed payloads. JSON.parse silently keeps
// the last of duplicate member names and accepts escaped lone surrogates; this parser refuses
// both, and numbers that are not integer literals in the safe range (a payload has no others).
import { CryptoError } from "./errors.js";
import { utf8Decode } from "./encoding.js";

const MAX_DEPTH = 32;

/**
 * Parse UTF-8 JSON bytes strictly. Objects come back with a null prototype, so a member
 * named "__proto__" is an ordinary (and, for the payload, unknown) member.
 * @param {Uint8Array} bytes
 * @param {string} [check] the check name reported on failure (default `payload`)
 * @returns {unknown}
 */
export function parseStrictJson(bytes, check = "payload") {
  const text = utf8Decode(bytes, check);
  let pos = 0;

  const fail = (why) => {
    throw new CryptoError(check, `JSON at ${pos}: ${why}`);
  };
  const skipSpace = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
        pos++;
      } else {
        break;
      }
    }
  };
  const expect = (literal) => {
    if (text.startsWith(literal, pos)) {
      pos += literal.length;
    } else {
      fail(`expected ${literal}`);
    }
  };

  const parseString = () => {
    pos++; // opening quote
    let out = "";
    for (;;) {
      if (pos >= text.length) {
        fail("unterminated string");
      }
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        pos++;
        return out;
      }
      if (c < 0x20) {
        fail("control character in a string");
      }
      if (c !== 0x5c) {
        // A run of plain characters. Raw surrogates only come as valid pairs: the UTF-8
        // decoder refused the rest.
        const start = pos;
        while (pos < text.length) {
          const d = text.charCodeAt(pos);
          if (d === 0x22 || d === 0x5c || d < 0x20) {
            break;
          }
          pos++;
        }
        out += text.slice(start, pos);
        continue;
      }
      const e = text[pos + 1];
      pos += 2;
      switch (e) {
        case '"': out += '"'; break;
        case "\\": out += "\\"; break;
        case "/": out += "/"; break;
        case "b": out += "\b"; break;
        case "f": out += "\f"; break;
        case "n": out += "\n"; break;
        case "r": out += "\r"; break;
        case "t": out += "\t"; break;
        case "u": {
          const unit = hex4();
          if (unit >= 0xd800 && unit <= 0xdbff) {
            if (text[pos] !== "\\" || text[pos + 1] !== "u") {
              fail("lone surrogate");
            }
            pos += 2;
            const low = hex4();
            if (low < 0xdc00 || low > 0xdfff) {
              fail("lone surrogate");
            }
            out += String.fromCharCode(unit, low);
          } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            fail("lone surrogate");
          } else {
            out += String.fromCharCode(unit);
          }
          break;
        }
        default:
          fail("bad escape");
      }
    }
  };
  const hex4 = () => {
    const digits = text.slice(pos, pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) {
      fail("bad \\u escape");
    }
    pos += 4;
    return parseInt(digits, 16);
  };

  const parseNumber = () => {
    const match = /^-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(pos, pos + 400));
    if (match === null) {
      fail("bad number");
    }
    if (match[1] !== undefined || match[2] !== undefined) {
      fail("only integer numbers are allowed");
    }
    const value = Number(match[0]);
    if (!Number.isSafeInteger(value)) {
      fail("integer outside the safe range");
    }
    pos += match[0].length;
    return value;
  };

  const parseValue = (depth) => {
    if (depth > MAX_DEPTH) {
      fail("nested too deeply");
    }
    skipSpace();
    const c = text[pos];
    let value;
    if (c === "{") {
      pos++;
      value = Object.create(null);
      const seen = new Set();
      skipSpace();
      if (text[pos] === "}") {
        pos++;
      } else {
        for (;;) {
          skipSpace();
          if (text[pos] !== '"') {
            fail("expected a member name");
          }
          const name = parseString();
          if (seen.has(name)) {
            fail(`duplicate member name ${JSON.stringify(name)}`);
          }
          seen.add(name);
          skipSpace();
          expect(":");
          value[name] = parseValue(depth + 1);
          skipSpace();
          if (text[pos] === ",") {
            pos++;
          } else if (text[pos] === "}") {
            pos++;
            break;
          } else {
            fail("expected , or }");
          }
        }
      }
    } else if (c === "[") {
      pos++;
      value = [];
      skipSpace();
      if (text[pos] === "]") {
        pos++;
      } else {
        for (;;) {
          value.push(parseValue(depth + 1));
          skipSpace();
          if (text[pos] === ",") {
            pos++;
          } else if (text[pos] === "]") {
            pos++;
            break;
          } else {
            fail("expected , or ]");
          }
        }
      }
    } else if (c === '"') {
      value = parseString();
    } else if (c === "t") {
      expect("true");
      value = true;
    } else if (c === "f") {
      expect("false");
      value = false;
    } else if (c === "n") {
      expect("null");
      value = null;
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      value = parseNumber();
    } else {
      fail("unexpected character");
    }
    return value;
  };

  const value = parseValue(0);
  skipSpace();
  if (pos !== text.length) {
    fail("trailing characters");
  }
  return value;
}
