import type { CrawlPageRow, DiscoveredLink, PageOutcome } from "@orbweaver/db";
import { discoverLinks } from "./discover-links.ts";
import { extractPageData, wantsPageExtraction } from "./extract-page-data.ts";
import { fetchCrawlPage } from "./fetch-crawl-page.ts";
import { modelFailureNote, noteOnce, type CrawlSession } from "./crawl-session.ts";

/** What processing one page produced, ready to be written with its links. */
export interface PageResult {
  outcome: PageOutcome;
  links: DiscoveredLink[];
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
 * browser crash is thrown as transient for the caller to hand the page back to the frontier.
 */
export async function processCrawlPage(session: CrawlSession, page: CrawlPageRow): Promise<PageResult> {
  const { ctx, crawl, log } = session;
  await session.pace(new URL(page.url));
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
  });
  const discovery = await discoverLinks(session.links, {
    pageUrl: fetched.finalUrl,
    depth: page.depth,
    orderKey: page.orderKey,
    raw: fetched.links,
  });
  if (discovery.modelFailure) await noteOnce(session, modelFailureNote(discovery.modelFailure));
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
      proxyBytes: fetched.proxyBytes + session.side.takeProxyBytes(),
    },
    links: discovery.links,
  };
}

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
