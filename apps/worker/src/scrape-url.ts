import {
  BrowserDisconnectedError,
  capturePage,
  decodeText,
  describeHopFailure,
  FULL_PAGE_MAX_PX,
  LAZY_LOAD_MAX_MS,
  loadLazyContent,
  takeFullPageScreenshot,
  isOctetStreamMediaType,
  isPdfMediaType,
  isTextMediaType,
  isXhtmlDocument,
  mediaType,
  raceDisconnect,
  NavigationError,
  openPage,
  type ActionRunResult,
  type BrowserActionInput,
} from "@orbweaver/browser";
import { blobRef } from "@orbweaver/storage";
import { errors, type BrowserContext, type Page, type Response } from "playwright-core";
import type { Logger } from "pino";
import { applyCookies, httpCookiesFor, type SealedCookies } from "./job-cookies.ts";
import { judgePage, judgeTextDocument } from "./judge-page.ts";
import { openLimitedContext } from "./limited-page-context.ts";
import { passCaptchaWall } from "./pass-captcha-wall.ts";
import { forEachMarkdown, runPageActions } from "./run-page-actions.ts";
import { scrapeFileOverHttp, scrapeWithFetch } from "./scrape-with-fetch.ts";
import { leaseTag, type TagLease } from "./tag-lease.ts";
import { failedOutcome, type UrlOutcome } from "./url-outcome.ts";
import { TransientJobError, type WorkerContext } from "./worker-context.ts";

export type { UrlOutcome } from "./url-outcome.ts";

/** Options for {@link scrapeUrl}. */
export interface ScrapeUrlOptions {
  url: string;
  /** Position of the URL in the request (per-URL cookies). */
  index: number;
  /** Egress-proxy tag of this URL's traffic. */
  tag: string;
  extractContentOnly: boolean;
  withMetadata: boolean;
  /** When set, a PNG of the page is stored under this blob key. */
  screenshot?: { key: string; fullPage: boolean };
  /** Browser actions run after the load and before the capture. */
  actions: BrowserActionInput[];
  /** Epoch ms by which the job must end. */
  deadline: number;
  scrapeMode: "default" | "fast";
  /** Route through an upstream proxy of this country (`global`/undefined: any). */
  proxy?: { country: string | undefined };
  cookies: SealedCookies | undefined;
  /** Called when a CAPTCHA wall goes to the solver (the job's "CAPTCHA" progress stage). */
  onCaptcha?: () => Promise<void>;
  /** The job's logger (its lines carry the job id); default `ctx.log`. */
  log?: Logger;
}

/**
 * Scrapes one URL: over plain HTTP in `fast` mode, or for a plainly static page when nothing needs a
 * browser; otherwise in its own browser context. A browser crash is thrown as transient (the job is
 * retried); every other failure is this URL's `success: false` with the reason.
 */
export async function scrapeUrl(ctx: WorkerContext, opts: ScrapeUrlOptions): Promise<UrlOutcome> {
  if (opts.proxy && !ctx.proxies.assign(opts.tag, opts.proxy.country)) {
    return failedOutcome(opts.url, `No proxy is available for country "${opts.proxy.country ?? "global"}"`);
  }
  const lease = leaseTag(ctx, opts.tag);
  try {
    const httpFirst = opts.scrapeMode === "fast" || (opts.actions.length === 0 && !opts.screenshot);
    let outcome: UrlOutcome | null = null;
    if (httpFirst) {
      const cookies = httpCookiesFor({ sealed: opts.cookies, index: opts.index, url: opts.url });
      outcome = await scrapeWithFetch(ctx, { ...opts, final: opts.scrapeMode === "fast", cookies });
    }
    outcome ??= await scrapeWithBrowser(ctx, opts, lease);
    // Traffic through upstream proxies is what the proxy provider bills: count it per job.
    if (opts.proxy) {
      const moved = ctx.egress.bytes(opts.tag);
      outcome.proxyBytes = moved.sent + moved.received;
    }
    return outcome;
  } finally {
    lease.end();
  }
}

async function scrapeWithBrowser(ctx: WorkerContext, opts: ScrapeUrlOptions, lease: TagLease): Promise<UrlOutcome> {
  // Past MAX_PAGE_BYTES or the job's deadline the context is closed, which ends every pending call.
  const { context, limits } = await openLimitedContext(ctx, opts.tag, opts.deadline);
  try {
    const outcome = await raceDisconnect(context.browser(), browseInContext(ctx, context, opts));
    // Over the cap is over, even when the download ended between two of the limit's polls.
    const cutOff = limits.check();
    if (cutOff) return failedOutcome(opts.url, cutOff, "usage" in outcome ? outcome.usage : undefined);
    if (!("pdf" in outcome)) return outcome;
    // The HTTP read has its own cap and deadline; the viewer's bytes are not counted twice.
    limits.stop();
    const read = await readFileOverHttp(ctx, opts);
    if (read && opts.screenshot) read.page.screenshotUrl = outcome.screenshotUrl;
    return read ?? failedOutcome(opts.url, "The browser was sent a PDF, but plain HTTP was not");
  } catch (err) {
    // A URL that is a file download is reported as one, even when its bytes also passed the cap,
    // unless it is a PDF or a text document, whose text is read over HTTP.
    if (err instanceof NavigationError && err.kind === "download") {
      limits.stop();
      return (await readFileOverHttp(ctx, opts)) ?? failedOutcome(opts.url, err.message);
    }
    const cutOff = limits.exceeded();
    if (cutOff) return failedOutcome(opts.url, cutOff);
    if (err instanceof BrowserDisconnectedError) throw new TransientJobError(err.message);
    throw err;
  } finally {
    limits.stop();
    lease.closeLater(context);
  }
}

/** A file the browser met (a PDF, a downloaded text document), read over HTTP with the job's cookies. */
function readFileOverHttp(ctx: WorkerContext, opts: ScrapeUrlOptions): Promise<UrlOutcome | null> {
  const cookies = httpCookiesFor({ sealed: opts.cookies, index: opts.index, url: opts.url });
  return scrapeFileOverHttp(ctx, { ...opts, cookies });
}

/** A PDF Chromium showed in its viewer, whose response body is the viewer's page, not the file. */
interface PdfInViewer {
  pdf: true;
  screenshotUrl: string | null;
}

async function browseInContext(
  ctx: WorkerContext,
  context: BrowserContext,
  opts: ScrapeUrlOptions,
): Promise<UrlOutcome | PdfInViewer> {
  try {
    await applyCookies(context, { sealed: opts.cookies, index: opts.index, url: opts.url });
    const { page, response, snapshot } = await openPage(context, {
      url: opts.url,
      timeoutMs: ctx.config.jobs.pageTimeoutMs,
      settleMs: ctx.config.jobs.pageSettleMs,
      quietMs: ctx.config.jobs.pageQuietMs,
      // Without actions the page is read as it settled, unless a CAPTCHA solve changes it first.
      snapshot: opts.actions.length === 0,
    });
    // Plain-HTTP hops refused by the egress proxy arrive as its 403 page, not as an exception.
    const refusal = response?.headers()["x-orbweaver-blocked"];
    if (refusal) return failedOutcome(opts.url, `Blocked by network policy: ${refusal}`);
    // A hop the egress or upstream proxy could not make arrives as its 59x page, not as the site's answer.
    const hopFailure = response ? describeHopFailure(response.status()) : undefined;
    if (hopFailure) {
      const via = opts.proxy ? ` through the upstream proxy for "${opts.proxy.country ?? "global"}"` : "";
      return failedOutcome(opts.url, `Could not load the page${via}: ${hopFailure} (${response?.status()})`);
    }
    // A PDF shown in Chromium's viewer: its text is read over HTTP once the page's byte limit is off;
    // no actions (the viewer has none of a page's elements); a screenshot of the viewer.
    if (response && showsPdf(response)) {
      return { pdf: true, screenshotUrl: opts.screenshot ? await takeScreenshot(ctx, page, opts) : null };
    }
    // A text document (JSON, plain text, a feed) is returned as it is, not as Chromium's viewer shows it.
    const textDocument = await textDocumentOf(response);
    // A CAPTCHA wall is solved before anything else when a solver is configured (CAPTCHA_SOLVER); a
    // text document is never one.
    const captcha =
      textDocument === undefined
        ? await passCaptchaWall(ctx, {
            page,
            status: response?.status() ?? null,
            deadline: opts.deadline,
            onSolving: opts.onCaptcha,
          })
        : ({ state: "none" } as const);
    if (captcha.state === "failed") return failedOutcome(opts.url, captcha.reason);
    const usage = { inputTokens: 0, outputTokens: 0 };
    let forEach: ActionRunResult["forEach"];
    if (opts.actions.length > 0) {
      const ran = await runPageActions(ctx, { page, actions: opts.actions, deadline: opts.deadline, usage });
      if (!ran.ok) return failedOutcome(opts.url, ran.error, usage);
      forEach = ran.run.forEach;
    }
    const untouched = opts.actions.length === 0 && captcha.state === "none";
    const captured =
      untouched && snapshot ? snapshot : await capturePage(page, { timeoutMs: ctx.config.jobs.actionTimeoutMs });
    // After the page is read: a full-page screenshot scrolls the page first, which must not change the result.
    const screenshotUrl = opts.screenshot ? await takeScreenshot(ctx, page, opts) : null;
    const statusCode = captcha.state === "solved" ? captcha.status : (response?.status() ?? null);
    const text = forEach ? undefined : textDocument;
    const converted =
      text === undefined
        ? await ctx.markdown.convert(captured.html, {
            baseUrl: captured.finalUrl,
            mainContentOnly: opts.extractContentOnly,
            withMetadata: opts.withMetadata,
          })
        : { markdown: text, title: "" };
    const title = text === undefined ? captured.title || converted.title : "";
    const problem = forEach
      ? null
      : text !== undefined
        ? judgeTextDocument({ status: statusCode, text })
        : judgePage({
            status: statusCode,
            title,
            html: captured.html,
            markdown: converted.markdown,
            url: captured.finalUrl,
          });
    // With forEach, the page's content is the collected items (§6).
    if (forEach)
      converted.markdown = await forEachMarkdown(ctx, {
        forEach,
        baseUrl: captured.finalUrl,
        usage,
        deadline: opts.deadline,
      });
    return {
      markdown: converted.markdown,
      usage,
      ...(converted.metadata ? { metadata: converted.metadata } : {}),
      // A solve is counted (and charged) when it got the URL its content.
      ...(captcha.state === "solved" && problem === null ? { captchasSolved: 1 } : {}),
      page: {
        url: opts.url,
        title,
        markdownContent: converted.markdown,
        success: problem === null,
        screenshotUrl,
        error: problem,
        statusCode,
      },
    };
  } catch (err) {
    const blocked = ctx.egress.blocked(opts.tag);
    if (blocked.length > 0) {
      return failedOutcome(opts.url, `Blocked by network policy: ${blocked[0]?.reason ?? "forbidden address"}`);
    }
    if (err instanceof NavigationError) {
      if (err.kind === "browser-closed") throw new TransientJobError(err.message);
      if (err.kind === "download") throw err;
      return failedOutcome(opts.url, err.message);
    }
    const browser = context.browser();
    if (browser && !browser.isConnected()) throw new TransientJobError("The browser closed during the scrape");
    throw err;
  }
}

/**
 * Did Chromium open its PDF viewer: a response typed as PDF, or an untyped one (Chromium sniffs the
 * bytes) from a `.pdf` path? The HTTP read then decides by the bytes.
 */
function showsPdf(response: Response): boolean {
  const type = mediaType(response.headers()["content-type"]);
  if (isPdfMediaType(type)) return true;
  return (type === "" || isOctetStreamMediaType(type)) && /\.pdf$/i.test(new URL(response.url()).pathname);
}

/**
 * The text of a document served as text (`isTextMediaType`); undefined for a page (XHTML served as
 * XML included: Chromium renders it as one), or a body no longer readable.
 */
async function textDocumentOf(response: Response | null): Promise<string | undefined> {
  const contentType = response?.headers()["content-type"];
  if (!response || !isTextMediaType(mediaType(contentType))) return undefined;
  try {
    const text = decodeText(await response.body(), contentType);
    return isXhtmlDocument(text) ? undefined : text;
  } catch {
    return undefined;
  }
}

/**
 * PNG of the viewport or the whole page, stored as a blob; a failed screenshot does not fail the URL
 * (the job's log says why). A full-page one first scrolls through the page so lazy content loads
 * (`loadLazyContent`: at most LAZY_LOAD_MAX_MS, and never into the capture's own timeout before the
 * job's deadline), and is clipped to FULL_PAGE_MAX_PX, which the job's log says.
 */
async function takeScreenshot(ctx: WorkerContext, page: Page, opts: ScrapeUrlOptions): Promise<string | null> {
  const shot = opts.screenshot;
  if (!shot) return null;
  const log = opts.log ?? ctx.log;
  const timeoutMs = ctx.config.jobs.actionTimeoutMs;
  try {
    let png: Buffer;
    if (shot.fullPage) {
      const budgetMs = Math.min(LAZY_LOAD_MAX_MS, opts.deadline - Date.now() - timeoutMs);
      const lazy = await loadLazyContent(page, { budgetMs, maxPx: FULL_PAGE_MAX_PX });
      log.debug({ url: opts.url, budgetMs, ...lazy }, "scrolled through the page before a full-page screenshot");
      const full = await takeFullPageScreenshot(page, { timeoutMs, maxPx: FULL_PAGE_MAX_PX });
      if (full.clipped) {
        log.info(
          { url: opts.url, key: shot.key, pageWidth: full.pageWidth, pageHeight: full.pageHeight },
          `full-page screenshot clipped: the page is ${full.pageWidth}×${full.pageHeight} px, ` +
            `the screenshot shows its top ${FULL_PAGE_MAX_PX} px (at most ${FULL_PAGE_MAX_PX} px wide)`,
        );
      }
      png = full.png;
    } else {
      png = await page.screenshot({ type: "png", timeout: timeoutMs });
    }
    await ctx.blobs.put(shot.key, png, "image/png");
    return blobRef(shot.key);
  } catch (err) {
    log.warn(
      { err, url: opts.url, key: shot.key },
      `screenshot failed, the URL has none: ${whyNoScreenshot(err, timeoutMs)}`,
    );
    return null;
  }
}

/** Why a screenshot failed, in a log line's words. */
function whyNoScreenshot(err: unknown, timeoutMs: number): string {
  if (err instanceof errors.TimeoutError) {
    return `Chromium did not render it within ACTION_TIMEOUT_MS (${timeoutMs} ms)`;
  }
  const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return message || "unknown error";
}
