import { BrowserDisconnectedError, capturePage, NavigationError, openPage, raceDisconnect } from "@orbweaver/browser";
import type { LinkCandidate, PageMetadata } from "@orbweaver/extract";
import type { BrowserContext, Page } from "playwright-core";
import { applyCookies, type SealedCookies } from "../job-cookies.ts";
import { judgePage } from "../judge-page.ts";
import { openLimitedContext } from "../limited-page-context.ts";
import { TransientJobError, type WorkerContext } from "../worker-context.ts";
import { leaseTag, type TagLease } from "../tag-lease.ts";
import { loadOverHttp } from "./load-over-http.ts";

/** One page as it was loaded (over HTTP or in the browser), converted to Markdown. */
export type FetchedPage =
  | {
      ok: true;
      finalUrl: string;
      statusCode: number | null;
      title: string;
      html: string;
      links: LinkCandidate[];
      markdown: string;
      metadata?: PageMetadata;
    }
  | { ok: false; error: string };

/** Options for {@link fetchCrawlPage}. */
export interface FetchCrawlPageOptions {
  url: string;
  /** Egress-proxy tag of this page's traffic. */
  tag: string;
  /** `fast`: over HTTP only. `default`: HTTP first, the browser for script-rendered or blocked answers. */
  scrapeMode: "default" | "fast";
  /** Also read JSON-LD/OpenGraph metadata (for per-page extraction). */
  withMetadata: boolean;
  proxy?: { country: string | undefined };
  cookies?: SealedCookies;
}

const HTML_TYPES = /^(text\/html|application\/xhtml\+xml|text\/plain)\b/i;

/**
 * Loads one crawl page the way a scrape loads a URL: over plain HTTP in `fast` mode, HTTP first
 * with the browser as fallback otherwise; both through the egress proxy (tagged), which applies the
 * SSRF rule to every request, routes to the crawl's upstream proxy and counts the bytes. A page that
 * cannot be loaded is this page's failure; browser trouble is thrown as transient (the page goes
 * back to the frontier) carrying the proxy bytes already moved ({@link proxyBytesOf}).
 */
export async function fetchCrawlPage(
  ctx: WorkerContext,
  opts: FetchCrawlPageOptions,
): Promise<FetchedPage & { proxyBytes: number }> {
  if (opts.proxy && !ctx.proxies.assign(opts.tag, opts.proxy.country)) {
    return { ok: false, error: `No proxy is available for country "${opts.proxy.country ?? "global"}"`, proxyBytes: 0 };
  }
  // Traffic through upstream proxies is what the proxy provider bills: counted per page.
  const moved = () => {
    if (!opts.proxy) return 0;
    const bytes = ctx.egress.bytes(opts.tag);
    return bytes.sent + bytes.received;
  };
  const lease = leaseTag(ctx, opts.tag);
  try {
    const viaHttp = await loadOverHttp(ctx, { ...opts, final: opts.scrapeMode === "fast" });
    const page = viaHttp ?? (await fetchInBrowser(ctx, opts, lease));
    return { ...page, proxyBytes: moved() };
  } catch (err) {
    if (err instanceof TransientJobError) Object.assign(err, { proxyBytes: moved() });
    throw err;
  } finally {
    lease.end();
  }
}

/** Proxy bytes a page load moved before it was interrupted (0 when unknown). */
export function proxyBytesOf(err: unknown): number {
  const bytes = (err as { proxyBytes?: unknown } | null)?.proxyBytes;
  return typeof bytes === "number" ? bytes : 0;
}

type RenderedPage =
  Omit<Extract<FetchedPage, { ok: true }>, "markdown" | "metadata"> | Extract<FetchedPage, { ok: false }>;

async function fetchInBrowser(ctx: WorkerContext, opts: FetchCrawlPageOptions, lease: TagLease): Promise<FetchedPage> {
  const loaded = await renderInBrowser(ctx, opts, lease);
  if (!loaded.ok) return loaded;
  const converted = await ctx.markdown.convert(loaded.html, {
    baseUrl: loaded.finalUrl,
    mainContentOnly: false,
    withMetadata: opts.withMetadata,
  });
  const title = loaded.title || converted.title;
  // Honest success, as for a scrape: a bot challenge, CAPTCHA or login wall is the page's failure (a
  // short page is not: a crawl meets link hubs and stubs).
  const problem = judgePage(
    { status: loaded.statusCode, title, html: loaded.html, markdown: converted.markdown, url: loaded.finalUrl },
    { emptyIsFine: true },
  );
  if (problem) return { ok: false, error: problem };
  return {
    ...loaded,
    title,
    markdown: converted.markdown,
    ...(converted.metadata ? { metadata: converted.metadata } : {}),
  };
}

/**
 * The page in its own browser context, which closes while the page is converted to Markdown. As for
 * a scrape, the context is closed when the page's downloads pass MAX_PAGE_BYTES or when its time is
 * up (its navigation timeout, its settle and one capture), and the page fails with that reason.
 */
async function renderInBrowser(
  ctx: WorkerContext,
  opts: FetchCrawlPageOptions,
  lease: TagLease,
): Promise<RenderedPage> {
  const { jobs } = ctx.config;
  const deadline = Date.now() + jobs.pageTimeoutMs + jobs.pageSettleMs + jobs.actionTimeoutMs;
  const { context, limits } = await openLimitedContext(ctx, opts.tag, deadline);
  try {
    const page = await raceDisconnect(context.browser(), readRenderedPage(ctx, context, opts));
    // Over the cap is over, even when the download ended between two of the limit's polls.
    const cutOff = limits.check();
    return cutOff ? { ok: false, error: cutOff } : page;
  } catch (err) {
    // Closed by a limit: the page's failure, not the browser's (it is not tried again).
    const cutOff = limits.exceeded();
    if (cutOff) return { ok: false, error: cutOff };
    if (err instanceof BrowserDisconnectedError) throw new TransientJobError(err.message);
    throw err;
  } finally {
    limits.stop();
    lease.closeLater(context);
  }
}

async function readRenderedPage(
  ctx: WorkerContext,
  context: BrowserContext,
  opts: FetchCrawlPageOptions,
): Promise<RenderedPage> {
  try {
    await applyCookies(context, { sealed: opts.cookies, index: 0, url: opts.url });
    const { page, response, snapshot } = await openPage(context, {
      url: opts.url,
      timeoutMs: ctx.config.jobs.pageTimeoutMs,
      settleMs: ctx.config.jobs.pageSettleMs,
      quietMs: ctx.config.jobs.pageQuietMs,
      snapshot: true,
    });
    const refusal = response?.headers()["x-orbweaver-blocked"];
    if (refusal) return { ok: false, error: `Blocked by network policy: ${refusal}` };
    const statusCode = response?.status() ?? null;
    if (statusCode !== null && statusCode >= 400) return { ok: false, error: `The page answered HTTP ${statusCode}` };
    const type = response?.headers()["content-type"] ?? "text/html";
    if (!HTML_TYPES.test(type)) return { ok: false, error: `Not a web page (${type.split(";")[0]})` };
    const captured = snapshot ?? (await capturePage(page));
    return {
      ok: true,
      finalUrl: captured.finalUrl,
      statusCode,
      title: captured.title,
      html: captured.html,
      links: await readLinks(ctx, page),
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
async function readLinks(ctx: WorkerContext, page: Page): Promise<LinkCandidate[]> {
  try {
    return await page.$$eval("a[href], area[href]", (anchors) =>
      anchors.slice(0, 5000).map((a) => {
        const el = a as HTMLAnchorElement;
        const text = (el.innerText || el.getAttribute("aria-label") || el.getAttribute("title") || "").trim();
        return { url: el.href, text: text.slice(0, 300) };
      }),
    );
  } catch (err) {
    // The read runs beside the page's own script, which can break it (a getter or a prototype it
    // replaced): the page keeps its content and loses its links, rather than being tried again as
    // if the browser had failed. A browser that did fail is still the browser's trouble.
    if (page.isClosed() || !page.context().browser()?.isConnected()) throw err;
    ctx.log.warn(
      { url: page.url(), err: String((err as Error).message).split("\n")[0] },
      "could not read the page's links",
    );
    return [];
  }
}
