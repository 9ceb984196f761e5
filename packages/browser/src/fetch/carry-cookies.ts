import { getDomain } from "tldts";

/*
 * Cookies across the redirect hops of one fetch. Two sources:
 * - the caller's Cookie header (the job's `cookies`), sent only to hosts of the
 *   same site as the first URL, so a redirect to another site does not leak it;
 * - Set-Cookie from redirect responses, sent back to the same host only
 *   (host-only, Domain/Path ignored). Sites that set a cookie and redirect to
 *   check it would otherwise loop until too_many_redirects.
 * Deliberately not a full RFC 6265 jar: it lives for one fetch.
 */

function siteOf(hostname: string): string {
  // IP literals and single-label names have no registrable domain: compare them exactly.
  return getDomain(hostname) ?? hostname;
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
  private readonly site: string;
  private readonly byHost = new Map<string, Map<string, string>>();

  /** @param cookieHeader caller cookies as a Cookie header (`a=1; b=2`); undefined or "" for none. */
  constructor(
    private readonly cookieHeader: string | undefined,
    startUrl: URL,
  ) {
    this.site = siteOf(startUrl.hostname);
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
    const caller = this.cookieHeader?.trim();
    if (caller && siteOf(url.hostname) === this.site) {
      for (const c of caller.split(";")) {
        const name = c.split("=", 1)[0]?.trim() ?? "";
        // A cookie the site set during this fetch replaces the caller's value of the same name.
        if (c.trim() !== "" && !set?.has(name)) parts.push(c.trim());
      }
    }
    for (const [name, value] of set ?? []) parts.push(`${name}=${value}`);
    return parts.length > 0 ? parts.join("; ") : undefined;
  }
}
