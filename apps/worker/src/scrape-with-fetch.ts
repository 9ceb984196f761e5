import { hasDeclarativeShadowDom, needsBrowser, type CallerCookie } from "@orbweaver/browser";
import type { MarkdownResult } from "@orbweaver/extract";
import type { ScrapeUrlOptions, UrlOutcome } from "./scrape-url.ts";
import { readHttpAnswer, tryOverHttp } from "./try-over-http.ts";
import { failedOutcome } from "./url-outcome.ts";
import type { WorkerContext } from "./worker-context.ts";

/**
 * The HTTP path, without a browser, through the same egress proxy (SSRF rule, upstream proxy, byte
 * count). In `fast` mode its answer is final; in default mode it is only taken for plainly static
 * pages that are not blocked, and null sends the URL to the browser.
 */
export async function scrapeWithFetch(
  ctx: WorkerContext,
  opts: Omit<ScrapeUrlOptions, "cookies"> & { final: boolean; cookies: readonly CallerCookie[] },
): Promise<UrlOutcome | null> {
  const tried = await tryOverHttp(ctx, opts);
  if (tried.outcome === "failed") {
    const via = opts.proxy ? `Through the upstream proxy for "${opts.proxy.country ?? "global"}": ` : "";
    return failedOutcome(opts.url, `${via}${tried.error}`);
  }
  if (tried.outcome === "browser") return null;
  const fetched = tried.answer;
  const page = fetched.document === "html";
  // A page of undeclared charset that is not UTF-8: Chromium reads its bytes for the charset.
  if (
    !opts.final &&
    page &&
    (needsBrowser(fetched.html).browser || hasDeclarativeShadowDom(fetched.html) || fetched.charsetGuessed)
  ) {
    return null;
  }
  const { converted, problem } = await readHttpAnswer(ctx, fetched, {
    mainContentOnly: opts.extractContentOnly,
    withMetadata: opts.withMetadata,
  });
  // In default mode a block seen over plain HTTP may still pass in a real browser; a text document's
  // or a PDF's judgement (an error status, no text) is final.
  if (problem && !opts.final && page) return null;
  return outcomeOf(opts.url, fetched, converted, problem);
}

/**
 * A URL the browser met as a file (a PDF in its viewer, or a download: a PDF or a text document sent
 * to save, a CSV or YAML it does not show), read again over HTTP: its text, without the actions
 * asked for, which a file cannot take; a failed read with its reason (too large, too slow). Null when
 * plain HTTP answers a page.
 */
export async function scrapeFileOverHttp(
  ctx: WorkerContext,
  opts: Omit<ScrapeUrlOptions, "cookies"> & { cookies: readonly CallerCookie[] },
): Promise<UrlOutcome | null> {
  const tried = await tryOverHttp(ctx, { ...opts, final: true });
  // Too large, too slow, refused: the file's own reason.
  if (tried.outcome === "failed") return failedOutcome(opts.url, tried.error);
  if (tried.outcome !== "answer" || tried.answer.document === "html") return null;
  const { converted, problem } = await readHttpAnswer(ctx, tried.answer, {
    mainContentOnly: false,
    withMetadata: false,
  });
  return outcomeOf(opts.url, tried.answer, converted, problem);
}

function outcomeOf(
  url: string,
  fetched: { status: number },
  converted: MarkdownResult,
  problem: string | null,
): UrlOutcome {
  return {
    markdown: converted.markdown,
    usage: { inputTokens: 0, outputTokens: 0 },
    ...(converted.metadata ? { metadata: converted.metadata } : {}),
    page: {
      url,
      title: converted.title,
      markdownContent: converted.markdown,
      success: problem === null,
      screenshotUrl: null,
      error: problem,
      statusCode: fetched.status,
    },
  };
}
