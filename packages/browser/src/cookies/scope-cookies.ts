import type { Cookie } from "playwright-core";
import { parse } from "tldts";
import type { ParsedCookie } from "./check-cookie.ts";

/**
 * Turns parsed client cookies into Playwright cookies for one target URL.
 *
 * Scoping rules (cookies must never reach another site):
 * - No explicit domain: a domain cookie on the target's registrable domain
 *   (`shop.example.co.uk` → `.example.co.uk`), so in-site redirects keep it.
 * - The registrable domain comes from the Public Suffix List *including its
 *   private section* (tldts `allowPrivateDomains`), as Chromium's cookie code
 *   does: `a.github.io` is its own site, so its cookies never reach `b.github.io`.
 * - Hosts without a registrable domain (IP literals, `localhost`, a bare public
 *   suffix, unknown TLDs such as `.test` or `.corp`) get host-only cookies on
 *   exactly that host: Chromium refuses domain cookies there.
 * - An explicit domain must domain-match the target host (equal, or a parent on
 *   a label boundary) and may not be wider than the registrable domain (no
 *   `.co.uk` supercookies); otherwise the cookie is dropped.
 * - Cookies are not port-specific (RFC 6265): a cookie for 127.0.0.1 also goes
 *   to other ports on 127.0.0.1. That is browser behaviour, not a leak across sites.
 * - path `/`, session cookie (expires -1), `secure` exactly when the target is
 *   https. SameSite=None needs Secure, so on http it becomes Lax; `__Secure-`
 *   and `__Host-` cookies cannot exist on http and are dropped there.
 */

export interface DroppedCookie {
  name: string;
  reason: string;
}

export interface ScopedCookies {
  cookies: Cookie[];
  /** Cookies that could not be sent to this target, with why (for job logs; no values). */
  dropped: DroppedCookie[];
}

/** Registrable domain of `host` (ICANN or private PSL rule), or undefined when there is none. */
export function registrableDomain(host: string): string | undefined {
  const r = parse(host, { allowPrivateDomains: true });
  if (r.isIp === true || r.domain === null) return undefined;
  // tldts treats an unknown TLD as a suffix; Chromium does not, so neither do we.
  return r.isIcann === true || r.isPrivate === true ? r.domain : undefined;
}

function targetHost(url: URL): string {
  const h = url.hostname.toLowerCase();
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

/** Cookie domain for `c` on `host` ("x" = host-only, ".x" = domain cookie), or a reason to drop it. */
function scopeDomain(c: ParsedCookie, host: string, site: string | undefined): { domain: string } | { reason: string } {
  if (c.domain === undefined) return { domain: site === undefined ? host : `.${site}` };
  const d = c.domain;
  const isIp = parse(host).isIp === true;
  if (d !== host && (isIp || !host.endsWith(`.${d}`))) return { reason: `domain ${d} does not match ${host}` };
  if (d !== host && c.hostOnly === true) return { reason: `host-only cookie for ${d}, not ${host}` };
  if (d !== host && (site === undefined || (d !== site && !d.endsWith(`.${site}`)))) {
    return { reason: `domain ${d} is a public suffix` };
  }
  if (d === host && (c.hostOnly === true || site === undefined)) return { domain: host };
  return { domain: `.${d}` };
}

/**
 * Scopes `cookies` to `targetUrl` (see the module comment for the rules) and
 * reports the ones it had to drop. Non-http(s) targets get no cookies.
 * For the same name and resulting domain the last cookie wins.
 */
export function scopeCookies(cookies: ParsedCookie[], targetUrl: string | URL): ScopedCookies {
  const url = new URL(targetUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { cookies: [], dropped: cookies.map((c) => ({ name: c.name, reason: `no cookies for ${url.protocol}` })) };
  }
  const host = targetHost(url);
  const site = registrableDomain(host);
  const secure = url.protocol === "https:";
  const byKey = new Map<string, Cookie>();
  const dropped: DroppedCookie[] = [];
  for (const c of cookies) {
    const prefix = /^__(secure|host)-/i.exec(c.name)?.[1]?.toLowerCase();
    if (prefix !== undefined && !secure) {
      dropped.push({ name: c.name, reason: `__${prefix}- cookies need an https target` });
      continue;
    }
    const scoped = scopeDomain(c, host, site);
    if ("reason" in scoped) {
      dropped.push({ name: c.name, reason: scoped.reason });
      continue;
    }
    // __Host- cookies must be host-only by definition, whatever the input said.
    const domain = prefix === "host" ? host : scoped.domain;
    const sameSite = c.sameSite === "None" && !secure ? "Lax" : (c.sameSite ?? "Lax");
    const cookie: Cookie = {
      name: c.name,
      value: c.value,
      domain,
      path: "/",
      expires: -1,
      httpOnly: c.httpOnly === true,
      secure,
      sameSite,
    };
    const key = `${c.name}\n${domain}`;
    byKey.delete(key);
    byKey.set(key, cookie);
  }
  return { cookies: [...byKey.values()], dropped };
}

/**
 * Playwright cookies for `context.addCookies()`, scoped to `targetUrl`;
 * cookies that would reach another site are silently dropped (use
 * scopeCookies() to learn which and why).
 */
export function toPlaywrightCookies(cookies: ParsedCookie[], targetUrl: string | URL): Cookie[] {
  return scopeCookies(cookies, targetUrl).cookies;
}
