// Reshapes a model answer towards a (sanitized) schema before validation:
// prunes fields outside the schema, applies safe type coercions, fills missing
// required fields with null. Ajv's own coerceTypes is not used because it turns
// null into ""/0/false, which would destroy the contract's "null if not found".
import { jsonEqual } from "./canonical-json.ts";
import { declaredTypes, isPlainObject } from "./schema-node.ts";
import type { SchemaNode } from "./schema-node.ts";

const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Currency signs and codes accepted before or after an amount ("$1,299.00", "1.299,00 €", "EUR 12", "US$ 5"). */
const CURRENCY =
  "(?:[A-Z]{1,2}\\$|[$€£¥₹₽₩₺₪₫฿₴₦₱]|USD|EUR|GBP|JPY|CNY|RMB|INR|RUB|KRW|TRY|ILS|VND|THB|UAH|NGN|PHP|CAD|AUD|NZD|" +
  "CHF|SEK|NOK|DKK|PLN|CZK|HUF|RON|BRL|MXN|ARS|CLP|COP|ZAR|SGD|HKD|TWD|MYR|IDR|AED|SAR|kr|zł|Kč|Fr\\.?|R)";
/**
 * The only spaces that group digits: a plain space, NBSP (U+00A0) and narrow NBSP (U+202F, French
 * and Swiss formatting). A tab, a newline or any other white space between digits separates two
 * values, not the groups of one ("12\t300" is not 12300).
 */
const GROUP_SPACE = " \u00a0\u202f";
/** sign, currency, sign, then digits and separators (".", ",", group spaces, apostrophes), currency. */
const AMOUNT = new RegExp(
  `^([+-]?)(${CURRENCY}\\s?)?([+-]?)(\\d(?:[\\d.,'\u2019${GROUP_SPACE}]*\\d)?)(\\s?${CURRENCY})?$`,
);
/**
 * Integer digits with no separator, or 1–3 digits and then groups of three behind one kind of
 * separator. A grouped number never starts with 0: "0,500" or "0.500.000" is not 500 or 500000.
 */
const INTEGER_PART =
  /^(?:\d+|[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d{0,2}(?:\.\d{3})+|[1-9]\d{0,2}(?:[ \u00a0\u202f]\d{3})+|[1-9]\d{0,2}(?:['\u2019]\d{3})+)$/;

/** The integer digits of `text` if it is an integer written with `allowed` thousands separators. */
function integerDigits(text: string, allowed: RegExp): string | undefined {
  if (!INTEGER_PART.test(text)) return undefined;
  const separators = text.replace(/\d/g, "");
  return separators === "" || allowed.test(separators) ? text.replace(/\D/g, "") : undefined;
}

/**
 * Reads a price or other formatted amount as a number when the reading is unambiguous: digits
 * with thousands separators, an optional sign, an optional currency sign or code before or after.
 * - "." and "," both present: the last one is the decimal mark ("$1,299.00", "1.299,00 €" → 1299).
 * - several "." or several ",": thousands separators ("1.299.000" → 1299000).
 * - one ",": before exactly three digits a thousands separator ("$1,299" → 1299, the English
 *   reading), otherwise a decimal comma ("12,50 €" → 12.5). With the currency only after the
 *   amount ("1,299 €", "1,299 EUR"), the continental style, it may as well be 1.299: not read.
 * - one ".": a decimal point ("1.299" → 1.299, as JSON reads it), except before exactly three
 *   digits with a currency ("1.299 €" is 1299 in German, 1.299 in English): not read.
 * - a space (plain, NBSP or narrow NBSP; no tab or newline) or apostrophe groups thousands
 *   ("1 299,00 €", "CHF 1'299.50").
 * - a group never follows a leading 0: "0,500" (0.5 in German, no English reading) and
 *   "0.500.000" are not read, as "1,500" would be 1500; "0,50 €" is 0.5.
 * Anything else ("12 apples and 3 pears", "12%", "about 5") is not a number: undefined.
 */
export function parseAmount(value: string): number | undefined {
  const trimmed = value.trim();
  if (NUMERIC.test(trimmed)) return Number(trimmed);
  const match = AMOUNT.exec(trimmed);
  if (!match) return undefined;
  const [, signBefore = "", currencyBefore, signAfter = "", body = "", currencyAfter] = match;
  if (signBefore && signAfter) return undefined;
  const hasCurrency = currencyBefore !== undefined || currencyAfter !== undefined;
  const lastDot = body.lastIndexOf(".");
  const lastComma = body.lastIndexOf(",");
  const spacesOrApostrophes = /^(?:[ \u00a0\u202f]+|['\u2019]+)$/;
  let integer: string | undefined;
  let fraction = "";
  if (lastDot >= 0 && lastComma >= 0) {
    const mark = Math.max(lastDot, lastComma);
    fraction = body.slice(mark + 1);
    integer = integerDigits(body.slice(0, mark), lastDot > lastComma ? /^,+$/ : /^\.+$/);
  } else if (lastDot >= 0 || lastComma >= 0) {
    const sep = lastDot >= 0 ? "." : ",";
    const parts = body.split(sep);
    const last = parts.at(-1) ?? "";
    // One separator before three digits reads two ways ("1.299 €", "1,299 €": 1299 or 1.299), unless
    // it is a "." without a currency (a decimal point, as in JSON) or a "," without a currency after
    // the amount ("$1,299", "1,299": the English thousands reading).
    const ambiguous = sep === "." ? hasCurrency : currencyAfter !== undefined && currencyBefore === undefined;
    if (parts.length === 2 && last.length === 3 && ambiguous) return undefined;
    if (parts.length > 2 || (sep === "," && last.length === 3)) {
      integer = integerDigits(body, sep === "." ? /^\.+$/ : /^,+$/);
    } else {
      fraction = last;
      integer = integerDigits(parts[0] ?? "", spacesOrApostrophes);
    }
  } else {
    integer = integerDigits(body, spacesOrApostrophes);
  }
  if (integer === undefined || !/^\d*$/.test(fraction)) return undefined;
  const n = Number(`${signBefore || signAfter}${integer}${fraction ? `.${fraction}` : ""}`);
  return Number.isFinite(n) ? n : undefined;
}

function matchesType(type: string, value: unknown): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "boolean":
      return typeof value === "boolean";
    case "array":
      return Array.isArray(value);
    case "object":
      return isPlainObject(value);
    case "null":
      return value === null;
    default:
      return false;
  }
}

/** One lossless conversion towards `type`, or undefined when none is safe. */
function coerceTo(type: string, value: unknown): unknown {
  if ((type === "number" || type === "integer") && typeof value === "string") {
    const n = parseAmount(value);
    return n === undefined || (type === "integer" && !Number.isInteger(n)) ? undefined : n;
  }
  if (type === "boolean" && typeof value === "string") {
    const word = value.trim().toLowerCase();
    return word === "true" ? true : word === "false" ? false : undefined;
  }
  if (type === "string" && (typeof value === "number" || typeof value === "boolean")) return String(value);
  if (type === "array" && !Array.isArray(value)) return [value];
  // A lone object wrapped in an array is unambiguous; more elements are not.
  if (type === "object" && Array.isArray(value) && value.length === 1 && isPlainObject(value[0])) return value[0];
  return undefined;
}

function coerce(types: string[], value: unknown): unknown {
  if (types.length === 0 || types.some((t) => matchesType(t, value))) return value;
  for (const type of types) {
    const converted = coerceTo(type, value);
    if (converted !== undefined) return converted;
  }
  return value;
}

function enumOf(node: SchemaNode): unknown[] | undefined {
  if ("const" in node) return [node.const];
  return Array.isArray(node.enum) ? node.enum : undefined;
}

/** Maps a case-variant of exactly one allowed string ("Full_Time") onto it. */
function matchEnum(allowed: unknown[], value: unknown): unknown {
  if (typeof value !== "string" || allowed.some((a) => jsonEqual(a, value))) return value;
  const lower = value.trim().toLowerCase();
  const hits = allowed.filter((a) => typeof a === "string" && a.toLowerCase() === lower);
  return hits.length === 1 ? hits[0] : value;
}

function conformObject(node: SchemaNode, obj: Record<string, unknown>): Record<string, unknown> {
  const props = isPlainObject(node.properties) ? node.properties : undefined;
  const extra = node.additionalProperties;
  // A schema without properties that does not forbid extras describes a free-form map.
  if (!props && extra !== false && !isPlainObject(extra)) return structuredClone(obj);

  const required = new Set(Array.isArray(node.required) ? node.required.filter((r) => typeof r === "string") : []);
  const out: Record<string, unknown> = {};
  for (const [name, child] of Object.entries(props ?? {})) {
    const value = obj[name];
    if (value === undefined || !isPlainObject(child)) continue;
    const conformed = conformValue(child, value);
    const allowed = enumOf(child);
    // An optional field with a value outside its enum is treated as "not found".
    out[name] =
      allowed && !required.has(name) && conformed !== null && !allowed.some((a) => jsonEqual(a, conformed))
        ? null
        : conformed;
  }
  for (const [name, value] of Object.entries(obj)) {
    if (props && name in props) continue;
    // Extra fields survive only when the schema explicitly allows them.
    if (isPlainObject(extra)) out[name] = conformValue(extra, value);
    else if (extra === true) out[name] = structuredClone(value);
  }
  for (const name of required) if (out[name] === undefined) out[name] = null;
  return out;
}

/**
 * Returns a new value shaped by `node`: extra object fields removed (unless
 * `additionalProperties` is `true` or a schema), safe coercions applied
 * ("39.99"→39.99, "$1,299.00"→1299 (see parseAmount), "1"→1 for integers, "true"→true, numbers/booleans→strings,
 * x→[x] for arrays, [obj]→obj for objects, case-variants of enum strings),
 * required fields filled with null. Values it cannot fix are left for the
 * validator to report.
 */
export function conformValue(node: SchemaNode, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  let types = declaredTypes(node);
  if (types.length === 0 && isPlainObject(node.properties)) types = ["object"];
  if (types.length === 0 && isPlainObject(node.items)) types = ["array"];
  const coerced = coerce(types, value);

  if (isPlainObject(coerced) && (types.includes("object") || types.length === 0)) return conformObject(node, coerced);
  if (Array.isArray(coerced) && (types.includes("array") || types.length === 0)) {
    const items = isPlainObject(node.items) ? node.items : undefined;
    return items ? coerced.map((item) => conformValue(items, item)) : structuredClone(coerced);
  }
  const allowed = enumOf(node);
  return allowed ? matchEnum(allowed, coerced) : coerced;
}
