import { CookieParseError, checkNameValue, normaliseCookieDomain, printable } from "./check-cookie.ts";
import type { ParsedCookie } from "./check-cookie.ts";

/**
 * Chrome DevTools "Application → Cookies" copied as text: one cookie per line,
 * cells separated by tabs, optionally led by the header row
 * `Name Value Domain Path Expires / Max-Age Size HttpOnly Secure SameSite …`.
 * Boolean cells are `✓` (or `true`) when set and empty otherwise.
 *
 * Only Name, Value, Domain, HttpOnly and SameSite are used: Path, Expires and
 * Secure are decided when the cookie is scoped to the target (path `/`, session
 * cookie, secure on https), because a job context lives only for one scrape.
 */

interface Columns {
  name: number;
  value: number;
  domain: number | undefined;
  httpOnly: number | undefined;
  sameSite: number | undefined;
}

// DevTools column order when rows are copied without the header; the first nine
// columns have kept this order across Chrome versions (later ones vary).
const DEFAULT_COLUMNS: Columns = { name: 0, value: 1, domain: 2, httpOnly: 6, sameSite: 8 };

function isHeader(cells: string[]): boolean {
  return cells[0]?.trim().toLowerCase() === "name" && cells[1]?.trim().toLowerCase() === "value";
}

function columnsFromHeader(cells: string[]): Columns {
  const find = (label: string): number | undefined => {
    const i = cells.findIndex((c) => c.trim().toLowerCase() === label);
    return i < 0 ? undefined : i;
  };
  return { name: 0, value: 1, domain: find("domain"), httpOnly: find("httponly"), sameSite: find("samesite") };
}

/**
 * True when `text` looks like a DevTools table rather than a `name=value; …`
 * string: it has tabs, and its first line is the header or starts with a bare
 * name (a Cookie header's first part always contains `=`).
 */
export function looksLikeCookieTable(text: string): boolean {
  const first = text.split(/\r?\n/).find((l) => l.trim() !== "");
  if (first === undefined || !first.includes("\t")) return false;
  const cells = first.split("\t");
  return isHeader(cells) || !(cells[0] ?? "").includes("=");
}

function cell(cells: string[], i: number | undefined): string {
  return i === undefined ? "" : (cells[i] ?? "").trim();
}

function sameSiteOf(raw: string): ParsedCookie["sameSite"] {
  const v = raw.toLowerCase();
  if (v === "strict") return "Strict";
  if (v === "lax") return "Lax";
  if (v === "none") return "None";
  return undefined;
}

/** Parses a DevTools cookie table; throws CookieParseError naming the bad line. */
export function parseCookieTable(text: string): ParsedCookie[] {
  const out: ParsedCookie[] = [];
  let columns = DEFAULT_COLUMNS;
  const lines = text.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    const cells = line.split("\t");
    if (isHeader(cells)) {
      columns = columnsFromHeader(cells);
      continue;
    }
    const where = `cookie table line ${i + 1}`;
    if (cells.length < 2) {
      throw new CookieParseError(`${where}: expected tab-separated Name and Value columns, got "${printable(line)}"`);
    }
    const name = cell(cells, columns.name);
    // DevTools lists a nameless cookie with an empty Name cell; it cannot be sent as name=value.
    if (name === "") continue;
    const value = cell(cells, columns.value);
    checkNameValue(name, value, where);
    const cookie: ParsedCookie = { name, value };
    const domain = cell(cells, columns.domain);
    if (domain !== "") {
      cookie.domain = normaliseCookieDomain(domain, where);
      cookie.hostOnly = !domain.startsWith(".");
    }
    const httpOnly = cell(cells, columns.httpOnly).toLowerCase();
    if (httpOnly === "✓" || httpOnly === "true") cookie.httpOnly = true;
    const sameSite = sameSiteOf(cell(cells, columns.sameSite));
    if (sameSite !== undefined) cookie.sameSite = sameSite;
    out.push(cookie);
  }
  return out;
}
