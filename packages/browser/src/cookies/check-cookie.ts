/** Shared cookie shape, error type and validation for the cookie parsers. */

/** One cookie as supplied by the client, before it is scoped to a target URL. */
export interface ParsedCookie {
  name: string;
  value: string;
  /**
   * Normalised domain (lowercase, punycode, no leading dot) when the input named
   * one; absent means "scope to the target's registrable domain".
   */
  domain?: string;
  /**
   * True when the input said the cookie is host-only: a DevTools row whose
   * Domain has no leading dot (DevTools shows domain cookies as `.example.com`).
   * Default false: a `{ domain }` object or a dotted domain is a domain cookie.
   */
  hostOnly?: boolean;
  /** DevTools HttpOnly column. Default false. */
  httpOnly?: boolean;
  /** DevTools SameSite column; absent means the browser default (Lax). */
  sameSite?: "Strict" | "Lax" | "None";
}

/**
 * Client-supplied cookies that cannot be used. The message is meant for the
 * API caller (the gateway answers 400 with it) and never echoes cookie values.
 */
export class CookieParseError extends Error {
  readonly code = "INVALID_COOKIES";
  constructor(message: string) {
    super(message);
    this.name = "CookieParseError";
  }
}

/** Chromium refuses cookies whose name plus value exceed 4096 bytes. */
export const MAX_COOKIE_BYTES = 4096;
/** Chromium keeps at most 180 cookies per domain; more is a mistake or abuse. */
export const MAX_COOKIES = 180;

// Control characters would let a value break out of the Cookie header (finding them
// is the point of these patterns); ';' and '=' cannot be represented in a name, ';' not in a value.
// eslint-disable-next-line no-control-regex
const BAD_NAME = /[\x00-\x1f\x7f;=]/;
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\x00-\x1f\x7f;]/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/g;

/** Validates one name/value pair; `where` says where it came from, for the message. */
export function checkNameValue(name: string, value: string, where: string): void {
  if (BAD_NAME.test(name)) {
    throw new CookieParseError(`${where}: cookie name "${printable(name)}" contains ';', '=' or control characters`);
  }
  if (BAD_VALUE.test(value)) {
    throw new CookieParseError(`${where}: value of cookie "${printable(name)}" contains ';' or control characters`);
  }
  if (Buffer.byteLength(name) + Buffer.byteLength(value) > MAX_COOKIE_BYTES) {
    throw new CookieParseError(`${where}: cookie "${printable(name)}" is longer than ${MAX_COOKIE_BYTES} bytes`);
  }
}

/**
 * Lowercase, punycode, no leading or trailing dot; IPv6 in brackets, as
 * `URL.hostname` spells it, so it compares equal to a target's hostname.
 * Throws CookieParseError for anything that is not a bare host name.
 */
export function normaliseCookieDomain(raw: string, where: string): string {
  let d = raw.trim().toLowerCase();
  if (d.startsWith(".")) d = d.slice(1);
  if (d.endsWith(".")) d = d.slice(0, -1);
  // Ports, paths, credentials or schemes would silently parse to some other host.
  const outsideBrackets = d.startsWith("[") && d.endsWith("]") ? "" : d;
  let host = "";
  if (d !== "" && !/[/:@?#%\\\s]/.test(outsideBrackets)) {
    try {
      host = new URL(`http://${d}/`).hostname;
    } catch {
      host = "";
    }
  }
  if (host === "")
    throw new CookieParseError(`${where}: domain "${printable(raw)}" is not a host name like example.com`);
  return host;
}

/** Shortened, control-free form of client input for error messages. */
export function printable(s: string): string {
  const clean = s.replace(CONTROL, "?");
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}

/** Last occurrence wins, as when a browser stores the same cookie twice. */
export function dedupeCookies(cookies: ParsedCookie[]): ParsedCookie[] {
  const byKey = new Map<string, ParsedCookie>();
  for (const c of cookies) {
    const key = `${c.name}\n${c.domain ?? ""}\n${c.hostOnly === true ? "h" : ""}`;
    byKey.delete(key);
    byKey.set(key, c);
  }
  if (byKey.size > MAX_COOKIES) throw new CookieParseError(`too many cookies (${byKey.size}, at most ${MAX_COOKIES})`);
  return [...byKey.values()];
}
