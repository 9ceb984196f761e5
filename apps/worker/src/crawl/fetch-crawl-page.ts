import {
  BrowserDisconnectedError,
  capturePage,
  guardContext,
  NavigationError,
  openPage,
  raceDisconnect,
} from "@orbweaver/browser";
import type { LinkCandidate } from "@orbweaver/extract";
import type { BrowserContext, Page } from "playwright-core";
import { applyCookies, type SealedCookies } from "../job-cookies.ts";
import { TransientJobError, type WorkerContext } from "../worker-context.ts";

/** One page as the browser saw it. */
export type FetchedPage =
  | { ok: true; finalUrl: string; statusCode: number | null; title: string; html: string; links: LinkCandidate[] }
  | { ok: false; error: string };

const HTML_TYPES = /^(text\/html|application\/xhtml\+xml|text\/plain)\b/i;

/**
 * Loads one page in its own browser context (tagged for the egress proxy, which applies the SSRF
 * rule to every request) and reads its rendered HTML and links. A page that cannot be loaded is
 * this page's failure; browser trouble is thrown as transient (the page goes back to the frontier).
 */
export async function fetchCrawlPage(
  ctx: WorkerContext,
  opts: { url: string; tag: string; proxy?: { country: string | undefined }; cookies?: SealedCookies },
): Promise<FetchedPage> {
  if (opts.proxy && !ctx.proxies.assign(opts.tag, opts.proxy.country)) {
    return { ok: false, error: `No proxy is available for country "${opts.proxy.country ?? "global"}"` };
  }
  try {
    return await fetchInBrowser(ctx, opts);
  } finally {
    ctx.proxies.release(opts.tag);
  }
}

async function fetchInBrowser(
  ctx: WorkerContext,
  opts: { url: string; tag: string; cookies?: SealedCookies },
): Promise<FetchedPage> {
  const context = await ctx.pool.newContext(opts.tag).catch((err: Error) => {
    throw new TransientJobError(`Could not start the browser: ${err.message}`);
  });
  guardContext(context);
  try {
    return await raceDisconnect(context.browser(), loadAndRead(ctx, context, opts));
  } catch (err) {
    if (err instanceof BrowserDisconnectedError) throw new TransientJobError(err.message);
    throw err;
  } finally {
    await context.close().catch(() => undefined);
    ctx.egress.forget(opts.tag);
  }
}

async function loadAndRead(
  ctx: WorkerContext,
  context: BrowserContext,
  opts: { url: string; tag: string; cookies?: SealedCookies },
): Promise<FetchedPage> {
  try {
    await applyCookies(context, { sealed: opts.cookies, index: 0, url: opts.url });
    const { page, response } = await openPage(context, { url: opts.url, timeoutMs: ctx.config.jobs.pageTimeoutMs });
    const refusal = response?.headers()["x-orbweaver-blocked"];
    if (refusal) return { ok: false, error: `Blocked by network policy: ${refusal}` };
    const statusCode = response?.status() ?? null;
    if (statusCode !== null && statusCode >= 400) return { ok: false, error: `The page answered HTTP ${statusCode}` };
    const type = response?.headers()["content-type"] ?? "text/html";
    if (!HTML_TYPES.test(type)) return { ok: false, error: `Not a web page (${type.split(";")[0]})` };
    const captured = await capturePage(page);
    return {
      ok: true,
      finalUrl: captured.finalUrl,
      statusCode,
      title: captured.title,
      html: captured.html,
      links: await readLinks(page),
    };
  } catch (err) {
    const blocked = ctx.egress.blocked(opts.tag);
    if (blocked.length > 0)
      return { ok: false, error: `Blocked by network policy: ${blocked[0]?.reason ?? "forbidden address"}` };
    if (err instanceof NavigationError) {
      if (err.kind === "browser-closed") throw new TransientJobError(err.message);
      return { ok: false, error: err.message };
    }
    // Anything else is the browser's trouble, not the page's (it closed under a shutdown, crashed,
    // refused a context): the page goes back to the frontier for another try.
    throw new TransientJobError(`Browser error: ${String((err as Error).message).split("\n")[0]}`);
  }
}

/** Every link of the rendered page (absolute, as the browser resolved it) with its anchor text. */
async function readLinks(page: Page): Promise<LinkCandidate[]> {
  return page.$$eval("a[href], area[href]", (anchors) =>
    anchors.slice(0, 5000).map((a) => {
      const el = a as HTMLAnchorElement;
      const text = (el.innerText || el.getAttribute("aria-label") || el.getAttribute("title") || "").trim();
      return { url: el.href, text: text.slice(0, 300) };
    }),
  );
}
