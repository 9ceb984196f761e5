import { parseCookieInput, scopeCookies, toPlaywrightCookies, type CookieObject } from "@orbweaver/browser";
import type { BrowserContext } from "playwright-core";

/** What the gateway sealed for a job: the request's cookie string and per-URL cookie objects. */
export interface SealedCookies {
  header?: string;
  perUrl?: Array<CookieObject[] | undefined>;
}

function parsed(sealed: SealedCookies | undefined, index: number) {
  if (!sealed) return [];
  return parseCookieInput({ header: sealed.header, objects: sealed.perUrl?.[index] });
}

/** Puts the job's cookies for URL `index` into the context's jar, scoped to the target's site. */
export async function applyCookies(
  context: BrowserContext,
  opts: { sealed: SealedCookies | undefined; index: number; url: string },
): Promise<void> {
  const cookies = toPlaywrightCookies(parsed(opts.sealed, opts.index), opts.url);
  if (cookies.length > 0) await context.addCookies(cookies);
}

/** The same cookies as a `Cookie` header for the fast path (only those in scope for the URL). */
export function cookieHeaderFor(opts: {
  sealed: SealedCookies | undefined;
  index: number;
  url: string;
}): string | undefined {
  const scoped = scopeCookies(parsed(opts.sealed, opts.index), opts.url).cookies;
  return scoped.length > 0 ? scoped.map((c) => `${c.name}=${c.value}`).join("; ") : undefined;
}
