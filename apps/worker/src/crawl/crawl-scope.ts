import { getDomain } from "tldts";

/** The settings that decide which URLs a crawl may visit. */
export interface ScopeSettings {
  baseUrl: string;
  allowSubdomains: boolean;
  crawlEntireDomain: boolean;
  includePaths?: string[] | null;
  excludePaths?: string[] | null;
}

export type ScopeVerdict = { ok: true } | { ok: false; reason: "host" | "path" | "include" | "exclude" };

/**
 * Builds the scope test of a crawl:
 * - host: the base URL's host (and port) only, with or without `www.`; `allowSubdomains` or `crawlEntireDomain` also admit
 *   the registrable domain (`example.com` for `www.example.com`, via the public-suffix list) and
 *   its subdomains. IP addresses have no subdomains.
 * - path: on the base host, only the base URL's path and below (`/blog` admits `/blog/x`), unless
 *   `crawlEntireDomain`; a base ending in a file name (`/docs/index.html`) admits its directory.
 * - `includePaths` (any must match) and `excludePaths` (none may match), each a prefix (`/blog/`)
 *   or a glob where `*` matches anything, `/` included (`/blog/*`, `*.html`), on the URL path, as
 *   sent (percent-encoded) or decoded: `/café`, `/my docs/` and `/caf%C3%A9` all match `/caf%C3%A9`
 *   (`%2F` and `%5C` stay encoded: `/a%2Fb` does not match `/a/b`).
 */
export function createScope(settings: ScopeSettings): (url: URL) => ScopeVerdict {
  const base = new URL(settings.baseUrl);
  const root = getDomain(base.hostname) ?? base.hostname;
  const prefix = basePathPrefix(base.pathname);
  const include = (settings.includePaths ?? []).filter((p) => p.trim() !== "").map(compilePattern);
  const exclude = (settings.excludePaths ?? []).filter((p) => p.trim() !== "").map(compilePattern);
  const wideHosts = settings.allowSubdomains || settings.crawlEntireDomain;
  const baseHost = withoutWww(base.host);
  return (url) => {
    const sameHost = withoutWww(url.host) === baseHost;
    if (!sameHost) {
      const inDomain = url.hostname === root || url.hostname.endsWith(`.${root}`);
      if (!wideHosts || !inDomain || isIpLiteral(base.hostname)) return { ok: false, reason: "host" };
    }
    if (sameHost && !settings.crawlEntireDomain && !underPrefix(url.pathname, prefix)) {
      return { ok: false, reason: "path" };
    }
    const paths = pathForms(url.pathname);
    if (include.length > 0 && !include.some((m) => paths.some(m))) return { ok: false, reason: "include" };
    if (exclude.some((m) => paths.some(m))) return { ok: false, reason: "exclude" };
    return { ok: true };
  };
}

/**
 * The path as sent (`/caf%C3%A9`) and, when it has escapes, decoded (`/café`). An encoded `/` or
 * `\` (`%2F`, `%5C`) stays encoded: decoded, it would split or join segments, and `/a%2Fb` (one
 * segment) is not the page `/a/b` (a pattern for `/a/b` must not match it).
 */
function pathForms(pathname: string): string[] {
  if (!pathname.includes("%")) return [pathname];
  try {
    // %2F and %5C are single ASCII bytes, never inside a multi-byte UTF-8 sequence: safe to cut at.
    const decoded = pathname
      .split(/(%2F|%5C)/i)
      .map((part, i) => (i % 2 === 1 ? part : decodeURIComponent(part)))
      .join("");
    return decoded === pathname ? [pathname] : [pathname, decoded];
  } catch {
    return [pathname]; // a malformed escape: the path as sent only
  }
}

/** `www.example.com` and `example.com` are one site (the usual redirect between them). */
function withoutWww(host: string): string {
  return host.startsWith("www.") ? host.slice(4) : host;
}

function isIpLiteral(hostname: string): boolean {
  return /^[\d.]+$/.test(hostname) || hostname.startsWith("[");
}

/** "/blog/" and "/blog" → "/blog"; "/docs/index.html" → "/docs"; "/" → "" (everything). */
export function basePathPrefix(pathname: string): string {
  const segments = pathname.split("/");
  const last = segments[segments.length - 1] ?? "";
  if (last.includes(".")) segments.pop();
  return segments.join("/").replace(/\/+$/, "");
}

function underPrefix(pathname: string, prefix: string): boolean {
  return prefix === "" || pathname === prefix || pathname.startsWith(`${prefix}/`);
}

/**
 * A prefix, or a glob with `*` (anything, `/` included) anchored at both ends. Matched without a
 * regular expression: `^/.*a.*a.*…b$` backtracks exponentially in the number of stars (a 25-character
 * `includePaths` entry held a worker's event loop for minutes per link); the greedy two-pointer match
 * below is linear in pattern × path.
 */
export function compilePattern(raw: string): (pathname: string) => boolean {
  const pattern = raw.trim().startsWith("/") || raw.trim().startsWith("*") ? raw.trim() : `/${raw.trim()}`;
  if (!pattern.includes("*")) return (pathname) => pathname.startsWith(pattern);
  return (pathname) => globMatches(pattern, pathname);
}

/** Whether `text` matches `pattern` whole, where `*` matches any run of characters (none included). */
function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1; // position in the pattern just after the last `*` seen
  let resume = 0; // position in the text that star is currently taken to extend to
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === "*") {
      star = ++p;
      resume = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}
