import { fetchPage, type CallerCookie, type FetchedPage } from "@orbweaver/browser";
import { isPdfReadError, MarkdownMemoryError, MarkdownTimeoutError, type MarkdownResult } from "@orbweaver/extract";
import { judgePage, judgeTextDocument } from "./judge-page.ts";
import type { WorkerContext } from "./worker-context.ts";

/** The default-mode HTTP try is cut short so a slow site falls back to the browser in time. */
const HTTP_FIRST_TIMEOUT_MS = 15_000;

type Answer = Extract<FetchedPage, { ok: true }>;
type Failure = Extract<FetchedPage, { ok: false }>;

/** What a try over plain HTTP gave: the answer, a failure of the URL, or "use the browser". */
export type HttpTry =
  { outcome: "answer"; answer: Answer } | { outcome: "failed"; error: string } | { outcome: "browser" };

/**
 * One URL over plain HTTP through the egress proxy (SSRF rule, upstream proxy, byte count), as
 * scrapes and crawls both load it. With `final` (`scrapeMode: "fast"`) every failure is the URL's;
 * otherwise only a refused address or an oversize document is (as large in a browser: failed here
 * rather than downloaded twice), and other failures send the URL to the browser.
 */
export async function tryOverHttp(
  ctx: WorkerContext,
  opts: {
    url: string;
    tag: string;
    cookies?: readonly CallerCookie[] | undefined;
    final: boolean;
    readPdf?: boolean;
  },
  describeFailure: (failed: Failure) => string = (failed) => failed.message,
): Promise<HttpTry> {
  const pageTimeoutMs = ctx.config.jobs.pageTimeoutMs;
  const fetched = await fetchPage({
    url: opts.url,
    proxyUrl: ctx.egress.url,
    tag: opts.tag,
    timeoutMs: opts.final ? pageTimeoutMs : Math.min(pageTimeoutMs, HTTP_FIRST_TIMEOUT_MS),
    maxBytes: ctx.config.jobs.maxPageBytes,
    ...(opts.cookies && opts.cookies.length > 0 ? { cookies: opts.cookies } : {}),
    ...(opts.readPdf === false ? { readPdf: false } : {}),
  });
  if (fetched.ok) return { outcome: "answer", answer: fetched };
  if (fetched.kind === "blocked") return { outcome: "failed", error: `Blocked by network policy: ${fetched.message}` };
  // A PDF refused unread (a crawl) is no page in a browser either.
  if (fetched.kind === "pdf") return { outcome: "failed", error: describeFailure(fetched) };
  if (fetched.kind === "too_large") {
    return { outcome: "failed", error: `The page is too large: ${fetched.message} (MAX_PAGE_BYTES); it was cut off` };
  }
  return opts.final ? { outcome: "failed", error: describeFailure(fetched) } : { outcome: "browser" };
}

/**
 * An HTTP answer in Markdown (a text document as it is), with the judgement the browser path gives a page (`judgePage`: an
 * error status, a block or CAPTCHA page, an empty page unless `emptyIsFine`); `problem` is null for
 * a good page.
 */
export async function readHttpAnswer(
  ctx: WorkerContext,
  answer: Answer,
  opts: { mainContentOnly: boolean; withMetadata: boolean; emptyIsFine?: boolean },
) {
  const { emptyIsFine, ...convert } = opts;
  if (answer.document === "pdf") return readPdf(ctx, answer);
  if (answer.document === "text") {
    // A text document is its own content: no Markdown conversion, no title, no page metadata.
    const text = answer.html;
    const converted: MarkdownResult = { markdown: text, title: "" };
    return { converted, problem: judgeTextDocument({ status: answer.status, text }) };
  }
  const converted = await ctx.markdown.convert(answer.html, { baseUrl: answer.finalUrl, ...convert });
  const problem = judgePage(
    {
      status: answer.status,
      title: converted.title,
      html: answer.html,
      markdown: converted.markdown,
      url: answer.finalUrl,
    },
    { emptyIsFine },
  );
  return { converted, problem };
}

/**
 * A PDF's text, as it is (no Markdown conversion), and its title, read by the PDF reader's process: an
 * error status, a file the reader refuses (a password, damage) or a PDF without text (scanned pages;
 * there is no OCR) fails the URL.
 */
async function readPdf(ctx: WorkerContext, answer: Extract<Answer, { document: "pdf" }>) {
  const nothing: MarkdownResult = { markdown: "", title: "" };
  if (answer.status >= 400) return { converted: nothing, problem: `The page answered HTTP ${answer.status}` };
  let converted: MarkdownResult;
  try {
    converted = await ctx.pdfs.convertPdf(answer.bytes);
  } catch (err) {
    if (isPdfReadError(err)) return { converted: nothing, problem: err.message };
    if (err instanceof MarkdownTimeoutError) {
      return { converted: nothing, problem: `The PDF could not be read within ${err.timeoutMs} ms` };
    }
    if (err instanceof MarkdownMemoryError) {
      const mb = Math.round(err.limitBytes / 1024 / 1024);
      return { converted: nothing, problem: `The PDF needs more than ${mb} MB of memory to read` };
    }
    throw err;
  }
  const problem =
    converted.markdown.trim() === "" ? "The PDF has no text to read (scanned pages? There is no OCR)" : null;
  return { converted, problem };
}
