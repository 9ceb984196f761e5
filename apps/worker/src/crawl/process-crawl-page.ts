import {
  findUrlKey,
  redirectMayTakeOver,
  type CrawlPageRow,
  type DiscoveredLink,
  type PageOutcome,
  type PageRedirect,
} from "@orbweaver/db";
import { discoverLinks } from "./discover-links.ts";
import { extractPageData, wantsPageExtraction } from "./extract-page-data.ts";
import { fetchCrawlPage } from "./fetch-crawl-page.ts";
import { extractionFailureNote, modelFailureNote, noteOnce, type CrawlSession } from "./crawl-session.ts";
import { normalizeLink } from "./normalize-url.ts";

/** What processing one page produced, ready to be written with its links. */
export interface PageResult {
  outcome: PageOutcome;
  links: DiscoveredLink[];
  /** The URL the page was redirected to, recorded with it (unless another page has it: a duplicate). */
  redirect?: PageRedirect;
}

/** Storage keys of a page's HTML and Markdown. */
export const pageBlobKeys = (crawlId: string, pageId: string) => ({
  html: `crawl/${crawlId}/${pageId}.html`,
  markdown: `crawl/${crawlId}/${pageId}.md`,
});

/**
 * Crawls one page: wait for its turn (robots.txt `Crawl-delay`), load it (over HTTP in `fast` mode,
 * HTTP first and the browser when needed otherwise), keep its HTML and Markdown, compute `data`, and
 * find the links to follow. A page that cannot be loaded is a failed page (the crawl goes on); a
 * browser crash is thrown as transient for the caller to hand the page back to the frontier. A
 * page redirected elsewhere is held to the crawl's rules at its final URL (see {@link checkRedirect}).
 */
export async function processCrawlPage(session: CrawlSession, page: CrawlPageRow): Promise<PageResult> {
  const { ctx, crawl, log } = session;
  await session.pace(new URL(page.url));
  // The page's time budget (JOB_TIMEOUT_MS, for its extraction) counts from its load, not its turn.
  const startedAt = Date.now();
  const fetched = await fetchCrawlPage(ctx, {
    url: page.url,
    tag: `${crawl.id}.${page.id.slice(0, 8)}`,
    scrapeMode: crawl.scrapeMode === "fast" ? "fast" : "default",
    withMetadata: wantsPageExtraction(crawl),
    ...(crawl.useProxy ? { proxy: { country: crawl.proxyCountry ?? undefined } } : {}),
    ...(session.cookies ? { cookies: session.cookies } : {}),
  });
  if (!fetched.ok) {
    log.info({ url: page.url, error: fetched.error }, "crawl page failed");
    return {
      outcome: { ...failedOutcome(fetched.error), proxyBytes: fetched.proxyBytes + session.side.takeProxyBytes() },
      links: [],
    };
  }
  const redirect = await checkRedirect(session, page, fetched.finalUrl);
  if (redirect.kind === "refused") {
    log.info({ url: page.url, finalUrl: fetched.finalUrl, error: redirect.error }, "crawl page redirected away");
    return {
      outcome: { ...failedOutcome(redirect.error), proxyBytes: fetched.proxyBytes + session.side.takeProxyBytes() },
      links: [],
    };
  }
  const keys = pageBlobKeys(crawl.id, page.id);
  await ctx.blobs.put(keys.html, fetched.html, "text/html; charset=utf-8");
  await ctx.blobs.put(keys.markdown, fetched.markdown, "text/markdown; charset=utf-8");
  const title = fetched.title || "";
  const extraction = await extractPageData(ctx, {
    crawl,
    page: {
      url: page.url,
      title,
      markdown: fetched.markdown,
      ...(fetched.metadata ? { metadata: fetched.metadata } : {}),
    },
    log,
    startedAt,
  });
  if (extraction.failureReason) await noteOnce(session, extractionFailureNote(extraction.failureReason));
  const discovery = await discoverLinks(session.links, {
    pageUrl: fetched.finalUrl,
    depth: page.depth,
    orderKey: page.orderKey,
    raw: fetched.links,
  });
  if (discovery.modelFailure) await noteOnce(session, modelFailureNote(discovery.modelFailure));
  const proxyBytes = fetched.proxyBytes + session.side.takeProxyBytes();
  return {
    outcome: {
      status: "success",
      title,
      data: extraction.data,
      htmlKey: keys.html,
      markdownKey: keys.markdown,
      errorMessage: null,
      aiExtractionFailed: extraction.aiExtractionFailed,
      inputTokens: extraction.usage.inputTokens + discovery.usage.inputTokens,
      outputTokens: extraction.usage.outputTokens + discovery.usage.outputTokens,
      linkChoiceTokens: discovery.usage.inputTokens + discovery.usage.outputTokens,
      // With the robots.txt and sitemaps read for this page's turn and its links (a proxied crawl's).
      proxyBytes,
    },
    links: discovery.links,
    ...(redirect.kind === "alias"
      ? {
          redirect: {
            url: redirect.url,
            urlKey: redirect.key,
            depth: page.depth,
            orderKey: page.orderKey,
            duplicateOutcome: { ...failedOutcome(duplicateError(redirect.url)), proxyBytes },
          },
        }
      : {}),
  };
}

type RedirectCheck =
  { kind: "none" } | { kind: "refused"; error: string } | { kind: "alias"; url: string; key: string };

/**
 * A page whose final URL (after HTTP or script redirects) is another page than the one asked for:
 * out of the crawl's scope or disallowed by robots.txt, it is refused (failed, nothing kept). When
 * the crawl already has that URL at this page's depth or above (queued, loading, done, or another
 * page's redirect target) it is a duplicate (failed as such, nothing kept): frontier rows are
 * claimed level by level, so every URL of this depth is known by now whichever page loads first.
 * A target whose own page failed is no copy: the page is kept as a normal page (`none`).
 * Otherwise the final URL is recorded with the page (`alias`; a deeper queued row for it becomes
 * that record), so it is not loaded again. The base URL is exempt from scope and robots.txt here
 * as it is when seeded (the client asked for it, redirects included).
 */
async function checkRedirect(session: CrawlSession, page: CrawlPageRow, finalUrl: string): Promise<RedirectCheck> {
  const final = normalizeLink(finalUrl, { ignoreQueryParams: session.crawl.ignoreQueryParams, anyPath: true });
  if (!final || final.key === page.urlKey) return { kind: "none" };
  if (page.depth > 0) {
    if (!session.links.scope(final.parsed).ok)
      return { kind: "refused", error: `Redirected out of scope to ${final.url}` };
    if (!(await session.links.robots.isAllowed(final.parsed))) {
      return { kind: "refused", error: `Redirected to ${final.url}, which robots.txt disallows` };
    }
  }
  const known = await findUrlKey(session.ctx.db, session.crawl.id, final.key);
  // The target's own load failed: the crawl has no copy of it, so this page's is kept (a page as
  // any other, its links followed). The failed row already keeps links to the target from loading.
  if (known?.status === "failed") return { kind: "none" };
  if (known && !redirectMayTakeOver(known, page.depth)) return { kind: "refused", error: duplicateError(final.url) };
  return { kind: "alias", url: final.url, key: final.key };
}

const duplicateError = (url: string) => `Duplicate: redirected to ${url}, which this crawl already has`;

export function failedOutcome(error: string): PageOutcome {
  return {
    status: "failed",
    title: null,
    data: null,
    htmlKey: null,
    markdownKey: null,
    errorMessage: error,
    aiExtractionFailed: false,
    inputTokens: 0,
    outputTokens: 0,
  };
}
