import { parseCookieInput, scopeCookies, toPlaywrightCookies, type CookieObject } from "@orbweaver/browser";
import type { BrowserContext, Cookie } from "playwright-core";
import { TransientJobError, type WorkerContext } from "./worker-context.ts";

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

/**
 * The same cookies for the HTTP path, scoped as the browser's jar holds them (domain, secure), so a
 * redirect hop gets them exactly where Chromium would send them.
 */
export function httpCookiesFor(opts: { sealed: SealedCookies | undefined; index: number; url: string }): Cookie[] {
  return scopeCookies(parsed(opts.sealed, opts.index), opts.url).cookies;
}

/** The cookies a job was sent with are gone from the store (a Redis flush, or past their 24 h). */
export class CookiesLostError extends Error {
  override name = "CookiesLostError";
  constructor() {
    super(
      "The cookies sent with this job are no longer available (the job store was reset or they expired); submit it again with its cookies",
    );
  }
}

/**
 * The cookies sealed for a job or crawl (`id`). One sent with cookies (`withCookies` in its stored
 * request) never runs without them: a store that cannot be read is the worker's trouble (another
 * attempt), a store that no longer holds them fails it ({@link CookiesLostError}), since the pages
 * would be read logged out and could pass for the user's. Without the mark (none sent, or a job
 * stored before it existed) they are read when there.
 */
export async function readJobCookies(
  ctx: Pick<WorkerContext, "secrets" | "log">,
  id: string,
  withCookies: boolean | undefined,
): Promise<SealedCookies | undefined> {
  let sealed: SealedCookies | undefined;
  try {
    sealed = await ctx.secrets.get<SealedCookies>(id);
  } catch (err) {
    if (!withCookies) return undefined;
    // The store's error names its host and port: the operator's to read, not the job's `error`.
    ctx.log.warn({ err, jobId: id }, "could not read the job's cookies");
    throw new TransientJobError("The job's cookies could not be read");
  }
  if (withCookies && sealed === undefined) throw new CookiesLostError();
  return sealed;
}
