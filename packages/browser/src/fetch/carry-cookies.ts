import { parseCookieHeader } from "../cookies/parse-cookies.ts";
import { scopeCookies } from "../cookies/scope-cookies.ts";

/*
 * Cookies across the redirect hops of one fetch. Two sources:
 * - the caller's cookies (the job's `cookies`, already scoped to the first URL as the browser path
 *   scopes them: a domain, `.site` for a domain cookie, and `secure` on an https target), sent to a
 *   hop exactly where Chromium would send them: a host the domain matches, and over https only when
 *   secure. So a redirect to another site (`a.github.io` to `b.github.io` included: the Public
 *   Suffix List's private section counts, as in Chromium), or from https down to http, does not
 *   carry them;
 * - Set-Cookie from redirect responses, sent back to the same host only
 *   (host-only, Domain/Path ignored). Sites that set a cookie and redirect to
 *   check it would otherwise loop until too_many_redirects.
 * Deliberately not a full RFC 6265 jar: it lives for one fetch.
 */

/** A caller cookie as scoped for the first URL (a Playwright cookie is one): `.example.com` = domain cookie. */
export interface CallerCookie {
  name: string;
  value: string;
  /** Host-only (`shop.example.com`) or a domain cookie (`.example.com`). */
  domain: string;
  /** Sent over https only. */
  secure: boolean;
}

function hostOf(url: URL): string {
  const h = url.hostname.toLowerCase();
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

/** RFC 6265 domain-match of a cookie's domain (leading dot: the domain and its subdomains). */
function domainMatches(host: string, domain: string): boolean {
  if (!domain.startsWith(".")) return host === domain;
  const d = domain.slice(1);
  return host === d || host.endsWith(`.${d}`);
}

/** The caller's `Cookie` header as cookies scoped to `startUrl` (what the browser path puts in its jar). */
function fromHeader(header: string, startUrl: URL): CallerCookie[] {
  try {
    return scopeCookies(parseCookieHeader(header), startUrl).cookies;
  } catch {
    return [];
  }
}

function isExpired(attributes: string[]): boolean {
  for (const a of attributes) {
    const [rawName = "", rawValue = ""] = a.split("=", 2);
    const name = rawName.trim().toLowerCase();
    if (name === "max-age" && Number(rawValue.trim()) <= 0) return true;
    if (name === "expires") {
      const t = Date.parse(rawValue.trim());
      if (Number.isFinite(t) && t <= Date.now()) return true;
    }
  }
  return false;
}

export class CarryCookies {
  private readonly caller: readonly CallerCookie[];
  private readonly byHost = new Map<string, Map<string, string>>();

  /**
   * @param caller the caller's cookies scoped to `startUrl`, or a Cookie header (`a=1; b=2`) that is
   *   scoped here as the browser path would (its site's domain, secure on https); undefined for none.
   */
  constructor(caller: string | readonly CallerCookie[] | undefined, startUrl: URL) {
    this.caller = typeof caller === "string" ? fromHeader(caller, startUrl) : (caller ?? []);
  }

  /** Records the Set-Cookie headers of a hop's response. */
  store(url: URL, setCookie: string[] | undefined): void {
    if (setCookie === undefined || setCookie.length === 0) return;
    let jar = this.byHost.get(url.hostname);
    if (jar === undefined) {
      jar = new Map();
      this.byHost.set(url.hostname, jar);
    }
    for (const line of setCookie) {
      const [pair = "", ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      if (isExpired(attributes)) jar.delete(name);
      else jar.set(name, pair.slice(eq + 1).trim());
    }
  }

  /** The Cookie header for a request to `url`, or undefined when there is nothing to send. */
  headerFor(url: URL): string | undefined {
    const parts: string[] = [];
    const set = this.byHost.get(url.hostname);
    const host = hostOf(url);
    const https = url.protocol === "https:";
    for (const c of this.caller) {
      if (!domainMatches(host, c.domain) || (c.secure && !https)) continue;
      // A cookie the site set during this fetch replaces the caller's value of the same name.
      if (!set?.has(c.name)) parts.push(`${c.name}=${c.value}`);
    }
    for (const [name, value] of set ?? []) parts.push(`${name}=${value}`);
    return parts.length > 0 ? parts.join("; ") : undefined;
  }
}
