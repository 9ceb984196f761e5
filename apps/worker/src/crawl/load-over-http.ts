import { hasDeclarativeShadowDom, mediaType, needsBrowser, type FetchedPage as HttpAnswer } from "@orbweaver/browser";
import { httpCookiesFor, type SealedCookies } from "../job-cookies.ts";
import { readHttpAnswer, tryOverHttp } from "../try-over-http.ts";
import type { WorkerContext } from "../worker-context.ts";
import type { FetchedPage } from "./fetch-crawl-page.ts";
import { readHtmlLinks } from "./read-html-links.ts";

/**
 * One crawl page over plain HTTP through the egress proxy (the SSRF rule, the crawl's upstream
 * proxy and byte count, its cookies), as the scrape fast path does. With `final` (`scrapeMode:
 * "fast"`) the answer is final: a script-rendered shell or a block page (bot challenge, CAPTCHA,
 * login wall; not a short page) is a failed page;
 * otherwise the answer is taken only for a plainly static page that is not blocked, decided as the
 * scrape path decides (`needsBrowser`, then `judgePage`), and null sends the page to the browser.
 */
export async function loadOverHttp(
  ctx: WorkerContext,
  opts: { url: string; tag: string; cookies?: SealedCookies; final: boolean; withMetadata: boolean },
): Promise<FetchedPage | null> {
  const cookies = httpCookiesFor({ sealed: opts.cookies, index: 0, url: opts.url });
  const tried = await tryOverHttp(
    ctx,
    // A crawl collects web pages (its link discovery skips links to files): a PDF is refused unread.
    { url: opts.url, tag: opts.tag, cookies, final: opts.final, readPdf: false },
    failureMessage,
  );
  if (tried.outcome === "failed") return { ok: false, error: tried.error };
  if (tried.outcome === "browser") return null;
  const fetched = tried.answer;
  // Not asked for (readPdf: false), so never read.
  if (fetched.document === "pdf") return { ok: false, error: NOT_A_PAGE_PDF };
  if (fetched.status >= 400)
    return opts.final ? { ok: false, error: `The page answered HTTP ${fetched.status}` } : null;
  const text = fetched.document === "text";
  // A crawl collects web pages, and plain text, which the browser path takes too; other text
  // documents (JSON, a feed) are refused as the browser path refuses them, without a second load.
  const type = mediaType(fetched.headers["content-type"]);
  // Untyped text (sniffed as Chromium does) is plain text too.
  if (text && type !== "text/plain" && type !== "") return { ok: false, error: `Not a web page (${type})` };
  // Web components declared in the HTML: the browser composes them into the page (fast mode keeps it without).
  if (!opts.final && !text && hasDeclarativeShadowDom(fetched.html)) return null;
  // A page of undeclared charset that is not UTF-8: Chromium reads its bytes for the charset.
  if (!opts.final && fetched.document === "html" && fetched.charsetGuessed) return null;
  const shell = text ? { browser: false as const } : needsBrowser(fetched.html);
  if (shell.browser) {
    return opts.final
      ? { ok: false, error: `The page needs a browser (${shell.reason}); scrapeMode "fast" loads pages without one` }
      : null;
  }
  const { converted, problem } = await readHttpAnswer(ctx, fetched, {
    mainContentOnly: false,
    withMetadata: opts.withMetadata,
    // A short page is a crawl's link hub or stub; in the default mode it still goes to the browser,
    // which may render more (and accepts it as short when it does not).
    emptyIsFine: opts.final,
  });
  if (problem) {
    // A block seen over plain HTTP may still pass in a real browser; in fast mode the answer is
    // final, and a bot challenge, CAPTCHA or login wall fails the page as it fails a scraped URL.
    // A text document's judgement (no text) is final.
    return opts.final || text ? { ok: false, error: problem } : null;
  }
  return {
    ok: true,
    finalUrl: fetched.finalUrl,
    statusCode: fetched.status,
    title: converted.title,
    html: fetched.html,
    links: text ? [] : readHtmlLinks(fetched.html, fetched.finalUrl),
    markdown: converted.markdown,
    ...(converted.metadata ? { metadata: converted.metadata } : {}),
  };
}

const NOT_A_PAGE_PDF = "Not a web page (a PDF document)";

function failureMessage(failed: Extract<HttpAnswer, { ok: false }>): string {
  if (failed.kind === "pdf") return NOT_A_PAGE_PDF;
  if (failed.kind === "unsupported_content") return `Not a web page (${failed.message})`;
  return failed.message;
}
