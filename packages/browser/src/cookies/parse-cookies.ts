import { CookieParseError, checkNameValue, dedupeCookies, normaliseCookieDomain, printable } from "./check-cookie.ts";
import type { ParsedCookie } from "./check-cookie.ts";
import { looksLikeCookieTable, parseCookieTable } from "./parse-cookie-table.ts";

/** A per-URL cookie as the Spidra demo client sends it (`urls[].cookies`, contract D44). */
export interface CookieObject {
  name: string;
  value: string;
  domain?: string;
}

export interface CookieInput {
  /** Request-level `cookies` string: `name=value; …` or a DevTools table. `""` = none. */
  header?: string;
  /** Per-URL `{ name, value, domain? }` objects; they override same-named header cookies. */
  objects?: CookieObject[];
}

/**
 * Parses `name=value; name2=value2`. Values may contain `=` (only the first
 * one splits); parts are trimmed, empty parts and parts with an empty name are
 * skipped; newlines separate like `;`. A leading `Cookie:` (pasted header) is
 * tolerated. A part without `=` is an error (it is usually a Set-Cookie
 * attribute such as `HttpOnly`, which means the wrong thing was pasted).
 */
export function parseCookieHeader(header: string): ParsedCookie[] {
  const out: ParsedCookie[] = [];
  const text = header.replace(/^\s*cookie\s*:/i, "");
  for (const raw of text.split(/;|\r?\n/)) {
    const part = raw.trim();
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq < 0) {
      throw new CookieParseError(
        `cookies: "${printable(part)}" has no "=": expected name=value pairs separated by ";" or a DevTools cookie table`,
      );
    }
    const name = part.slice(0, eq).trim();
    if (name === "") continue;
    const value = part.slice(eq + 1).trim();
    checkNameValue(name, value, "cookies");
    out.push({ name, value });
  }
  return out;
}

function parseObjects(objects: unknown): ParsedCookie[] {
  if (!Array.isArray(objects)) throw new CookieParseError("cookies must be an array of { name, value, domain? }");
  return objects.map((o: unknown, i) => {
    const where = `cookies[${i}]`;
    if (typeof o !== "object" || o === null) throw new CookieParseError(`${where} must be an object`);
    const { name, value, domain } = o as Record<string, unknown>;
    if (typeof name !== "string" || name.trim() === "") {
      throw new CookieParseError(`${where}.name must be a non-empty string`);
    }
    if (typeof value !== "string") throw new CookieParseError(`${where}.value must be a string`);
    if (domain !== undefined && domain !== null && typeof domain !== "string") {
      throw new CookieParseError(`${where}.domain must be a string`);
    }
    const cookie: ParsedCookie = { name: name.trim(), value: value.trim() };
    checkNameValue(cookie.name, cookie.value, where);
    if (typeof domain === "string" && domain.trim() !== "") cookie.domain = normaliseCookieDomain(domain, where);
    return cookie;
  });
}

/**
 * Parses client-supplied cookies in any accepted format: a `name=value; …`
 * string, a DevTools "Application → Cookies" table pasted as text (tab
 * separated, header row optional), and/or per-URL `{ name, value, domain? }`
 * objects. Objects come after the string, and for the same name and domain the
 * last one wins. Empty input gives `[]`.
 *
 * Values are kept verbatim apart from trimming (no URL decoding, quotes kept):
 * the browser sends exactly what the client pasted.
 *
 * @throws CookieParseError with a message for the API caller (answer 400).
 */
export function parseCookieInput(input: CookieInput): ParsedCookie[] {
  const out: ParsedCookie[] = [];
  const { header, objects } = input;
  if (header !== undefined && header !== null) {
    if (typeof header !== "string") throw new CookieParseError("cookies must be a string");
    if (header.trim() !== "") {
      const parsed = looksLikeCookieTable(header) ? parseCookieTable(header) : parseCookieHeader(header);
      // Input that yields nothing was not what the caller meant to send.
      if (parsed.length === 0) throw new CookieParseError("cookies: no name=value pair found");
      out.push(...parsed);
    }
  }
  if (objects !== undefined && objects !== null) out.push(...parseObjects(objects));
  return dedupeCookies(out);
}
