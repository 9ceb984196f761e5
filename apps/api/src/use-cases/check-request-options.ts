import {
  CookieParseError,
  createProxyPool,
  isKnownCountryCode,
  parseCookieInput,
  parseProxyPool,
  type CookieObject,
} from "@orbweaver/browser";
import type { ApiDeps } from "../deps.ts";
import { AppError } from "../errors.ts";

/** What the configured proxy pool can serve; a bad PROXY_POOL stops the gateway at start, naming it. */
export function proxyCountries(spec: string): ApiDeps["proxies"] {
  let entries;
  try {
    entries = parseProxyPool(spec);
  } catch (err) {
    throw new Error(`PROXY_POOL: ${(err as Error).message}`);
  }
  const pool = createProxyPool(entries);
  return { configured: entries.length > 0, supports: (country) => pool.supports(country ?? "global") };
}

/**
 * `useProxy`/`proxyCountry`: the country must be a known code (or eu/global) that a configured
 * proxy serves; `proxyCountry` without `useProxy` is ignored (contract §5.1).
 */
export function checkProxyOptions(deps: ApiDeps, opts: { useProxy: boolean; proxyCountry: string | undefined }): void {
  if (!opts.useProxy) return;
  const country = opts.proxyCountry;
  if (country && !isKnownCountryCode(country)) {
    throw new AppError(
      "VALIDATION_ERROR",
      `Unknown proxyCountry "${country}" (use an ISO code such as us, de, gb, or eu, global)`,
    );
  }
  if (!deps.proxies.configured) {
    throw new AppError(
      "VALIDATION_ERROR",
      "useProxy was requested but this server has no proxies configured (PROXY_POOL)",
    );
  }
  if (!deps.proxies.supports(country)) {
    throw new AppError("VALIDATION_ERROR", `No configured proxy serves proxyCountry "${country ?? "global"}"`);
  }
}

/** Sealed cookies as the worker reads them (never stored in Postgres or job data). */
export interface SealedCookies {
  header?: string;
  perUrl?: Array<CookieObject[] | undefined>;
}

/** Parses every URL's cookies now so bad input is a 400; returns what to seal, or undefined when none. */
export function checkCookies(opts: {
  header: string | undefined;
  perUrl: Array<CookieObject[] | undefined>;
}): SealedCookies | undefined {
  const header = opts.header?.trim() ? opts.header : undefined;
  const hasObjects = opts.perUrl.some((c) => c && c.length > 0);
  if (!header && !hasObjects) return undefined;
  try {
    for (const objects of opts.perUrl.length > 0 ? opts.perUrl : [undefined]) parseCookieInput({ header, objects });
  } catch (err) {
    if (err instanceof CookieParseError) throw new AppError("VALIDATION_ERROR", `Invalid cookies: ${err.message}`);
    throw err;
  }
  return { ...(header ? { header } : {}), ...(hasObjects ? { perUrl: opts.perUrl } : {}) };
}

/**
 * `scrapeMode: "fast"` reads pages over plain HTTP, without a browser: it can neither take a
 * screenshot nor run browser actions. Asking for both is a contradiction the client must resolve
 * (400 naming each field), not a job that silently comes back without the screenshot or with the
 * page as it was before the actions.
 */
export function checkFastMode(request: {
  scrapeMode: "default" | "fast";
  screenshot: boolean;
  fullPageScreenshot: boolean;
  urls: Array<{ actions: unknown[] }>;
}): void {
  if (request.scrapeMode !== "fast") return;
  const errors: string[] = [];
  const why = 'scrapeMode "fast" loads pages without a browser; use scrapeMode "default"';
  if (request.screenshot) {
    const field = request.fullPageScreenshot ? "fullPageScreenshot" : "screenshot";
    errors.push(`${field}: a screenshot needs the browser (${why})`);
  }
  request.urls.forEach((u, i) => {
    if (u.actions.length > 0) errors.push(`urls[${i}].actions: browser actions need the browser (${why})`);
  });
  if (errors.length > 0) throw new AppError("VALIDATION_ERROR", `Invalid request: ${errors[0]}`, { errors });
}
