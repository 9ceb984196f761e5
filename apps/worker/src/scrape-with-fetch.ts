import { fetchPage, needsBrowser } from "@orbweaver/browser";
import { judgePage } from "./judge-page.ts";
import type { ScrapeUrlOptions, UrlOutcome } from "./scrape-url.ts";
import { failedOutcome } from "./url-outcome.ts";
import type { WorkerContext } from "./worker-context.ts";

/**
 * The HTTP path, without a browser, through the same egress proxy (SSRF rule, upstream proxy, byte
 * count). In `fast` mode its answer is final; in default mode it is only taken for plainly static
 * pages that are not blocked, and null sends the URL to the browser.
 */
export async function scrapeWithFetch(
  ctx: WorkerContext,
  opts: ScrapeUrlOptions & { final: boolean; cookieHeader: string | undefined },
): Promise<UrlOutcome | null> {
  const timeoutMs = opts.final ? ctx.config.jobs.pageTimeoutMs : Math.min(ctx.config.jobs.pageTimeoutMs, 15_000);
  const fetched = await fetchPage({
    url: opts.url,
    proxyUrl: ctx.egress.url,
    tag: opts.tag,
    timeoutMs,
    maxBytes: ctx.config.jobs.maxPageBytes,
    ...(opts.cookieHeader ? { cookieHeader: opts.cookieHeader } : {}),
  });
  if (!fetched.ok) {
    if (fetched.kind === "blocked") return failedOutcome(opts.url, `Blocked by network policy: ${fetched.message}`);
    // A document over the limit is as large in a browser: fail it here rather than download it twice.
    if (fetched.kind === "too_large") {
      return failedOutcome(opts.url, `The page is too large: ${fetched.message} (MAX_PAGE_BYTES); it was cut off`);
    }
    return opts.final ? failedOutcome(opts.url, fetched.message) : null;
  }
  if (!opts.final && needsBrowser(fetched.html).browser) return null;
  const converted = await ctx.markdown.convert(fetched.html, {
    baseUrl: fetched.finalUrl,
    mainContentOnly: opts.extractContentOnly,
    withMetadata: opts.withMetadata,
  });
  const problem = judgePage({
    status: fetched.status,
    title: converted.title,
    html: fetched.html,
    markdown: converted.markdown,
    url: fetched.finalUrl,
  });
  // In default mode a block seen over plain HTTP may still pass in a real browser.
  if (problem && !opts.final) return null;
  return {
    markdown: converted.markdown,
    usage: { inputTokens: 0, outputTokens: 0 },
    ...(converted.metadata ? { metadata: converted.metadata } : {}),
    page: {
      url: opts.url,
      title: converted.title,
      markdownContent: converted.markdown,
      success: problem === null,
      screenshotUrl: null,
      error: problem,
      statusCode: fetched.status,
    },
  };
}
