import {
  capturePage,
  guardContext,
  NavigationError,
  openPage,
  type ActionRunResult,
  type BrowserActionInput,
} from "@orbweaver/browser";
import { forEachMarkdown, runPageActions, type Usage } from "./run-page-actions.ts";
import type { ScrapePageResult } from "@orbweaver/contract";
import type { PageMetadata } from "@orbweaver/extract";
import { blobRef } from "@orbweaver/storage";
import type { Page } from "playwright-core";
import { TransientJobError, type WorkerContext } from "./worker-context.ts";

/** One URL's outcome: the public per-URL record plus what the job needs to decide and bill. */
export interface UrlOutcome {
  page: ScrapePageResult;
  markdown: string;
  /** Model tokens spent on this URL itself (element choices, forEach item prompts). */
  usage: Usage;
  /** JSON-LD, OpenGraph and microdata, read when an AI pass will use them. */
  metadata?: PageMetadata;
}

/** Options for {@link scrapeUrl}. */
export interface ScrapeUrlOptions {
  url: string;
  /** Egress-proxy tag of this URL's browser context. */
  tag: string;
  extractContentOnly: boolean;
  withMetadata: boolean;
  /** When set, a PNG of the page is stored under this blob key. */
  screenshot?: { key: string; fullPage: boolean };
  /** Browser actions run after the load and before the capture. */
  actions: BrowserActionInput[];
  /** Epoch ms by which the job must end. */
  deadline: number;
}

/**
 * Loads one URL in its own browser context and converts it to Markdown. A browser crash is thrown as
 * transient (the job is retried); every other failure is this URL's `success: false`.
 */
export async function scrapeUrl(ctx: WorkerContext, opts: ScrapeUrlOptions): Promise<UrlOutcome> {
  const context = await ctx.pool.newContext(opts.tag).catch((err: Error) => {
    throw new TransientJobError(`Could not start the browser: ${err.message}`);
  });
  guardContext(context);
  try {
    const { page, response } = await openPage(context, { url: opts.url, timeoutMs: ctx.config.jobs.pageTimeoutMs });
    // Plain-HTTP hops refused by the egress proxy arrive as its 403 page, not as an exception.
    const refusal = response?.headers()["x-orbweaver-blocked"];
    if (refusal) return failed(opts.url, `Blocked by network policy: ${refusal}`);
    const usage = { inputTokens: 0, outputTokens: 0 };
    let forEach: ActionRunResult["forEach"];
    if (opts.actions.length > 0) {
      const ran = await runPageActions(ctx, { page, actions: opts.actions, deadline: opts.deadline, usage });
      if (!ran.ok) return failed(opts.url, ran.error, usage);
      forEach = ran.run.forEach;
    }
    const captured = await capturePage(page);
    const screenshotUrl = opts.screenshot ? await takeScreenshot(ctx, page, opts.screenshot) : null;
    const statusCode = response?.status() ?? null;
    const converted = await ctx.markdown.convert(captured.html, {
      baseUrl: captured.finalUrl,
      mainContentOnly: opts.extractContentOnly,
      withMetadata: opts.withMetadata,
    });
    // With forEach, the page's content is the collected items (§6).
    if (forEach) converted.markdown = await forEachMarkdown(ctx, { forEach, baseUrl: captured.finalUrl, usage });
    const title = captured.title || converted.title;
    const httpError = statusCode !== null && statusCode >= 400 ? `The page answered HTTP ${statusCode}` : null;
    return {
      markdown: converted.markdown,
      usage,
      ...(converted.metadata ? { metadata: converted.metadata } : {}),
      page: {
        url: opts.url,
        title,
        markdownContent: converted.markdown,
        success: httpError === null,
        screenshotUrl,
        error: httpError,
        statusCode,
      },
    };
  } catch (err) {
    const blocked = ctx.egress.blocked(opts.tag);
    if (blocked.length > 0)
      return failed(opts.url, `Blocked by network policy: ${blocked[0]?.reason ?? "forbidden address"}`);
    if (err instanceof NavigationError) {
      if (err.kind === "browser-closed") throw new TransientJobError(err.message);
      return failed(opts.url, err.message);
    }
    const browser = context.browser();
    if (browser && !browser.isConnected()) throw new TransientJobError("The browser closed during the scrape");
    throw err;
  } finally {
    await context.close().catch(() => undefined);
    ctx.egress.forget(opts.tag);
  }
}

/** PNG of the viewport or the whole page, stored as a blob; a failed screenshot does not fail the URL. */
async function takeScreenshot(
  ctx: WorkerContext,
  page: Page,
  shot: { key: string; fullPage: boolean },
): Promise<string | null> {
  try {
    const png = await page.screenshot({
      type: "png",
      fullPage: shot.fullPage,
      timeout: ctx.config.jobs.actionTimeoutMs,
    });
    await ctx.blobs.put(shot.key, png, "image/png");
    return blobRef(shot.key);
  } catch (err) {
    ctx.log.warn({ err, key: shot.key }, "screenshot failed");
    return null;
  }
}

function failed(url: string, error: string, usage: Usage = { inputTokens: 0, outputTokens: 0 }): UrlOutcome {
  return {
    markdown: "",
    usage,
    page: { url, title: "", markdownContent: "", success: false, screenshotUrl: null, error, statusCode: null },
  };
}
