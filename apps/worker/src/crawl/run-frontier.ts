import {
  claimCrawlPages,
  completeCrawlPage,
  requeueCrawlPage,
  updateCrawlProgress,
  type CrawlPageRow,
} from "@orbweaver/db";
import { TransientJobError } from "../worker-context.ts";
import { proxyBytesOf } from "./fetch-crawl-page.ts";
import { pageEventData } from "./webhook-sender.ts";
import type { PageResult } from "./process-crawl-page.ts";
import type { CrawlSession } from "./crawl-session.ts";

/** Pages of one crawl processed at once (each in its own browser context). */
export const PAGE_LANES = 2;
/** Tries per page when the browser crashes under it. */
const PAGE_ATTEMPTS = 3;
/** Most rows a crawl's frontier holds (processed pages included). */
export const frontierCap = (maxPages: number) => Math.min(5000, Math.max(200, maxPages * 20));

/** How a frontier run ended: drained (or maxPages reached), lost ownership, or asked to stop. */
export type FrontierEnd = "done" | "not_owner" | "stopping";

/**
 * Works through the crawl's frontier in breadth-first order with {@link PAGE_LANES} pages in flight,
 * until it is empty or maxPages pages were processed. Every step is a Postgres write guarded by the
 * attempt's run token, so a cancelled or taken-over crawl stops at its next step, and a worker that
 * dies leaves the frontier exactly where the next attempt resumes.
 */
export async function runFrontier(
  session: CrawlSession,
  opts: { processPage(page: CrawlPageRow): Promise<PageResult>; stopping(): boolean; verb: string },
): Promise<FrontierEnd> {
  const { ctx, crawl, runToken } = session;
  let inFlight = 0;
  let end: FrontierEnd | null = null;
  let wake: () => void = () => undefined;
  let settled = new Promise<void>((r) => (wake = r));
  const signal = () => {
    wake();
    settled = new Promise<void>((r) => (wake = r));
  };

  const lane = async (): Promise<void> => {
    for (;;) {
      if (end) return;
      if (opts.stopping()) {
        end = "stopping";
        return;
      }
      const claim = await claimCrawlPages(ctx.db, { crawlId: crawl.id, runToken, limit: 1 });
      if (claim.stop === "not_owner") {
        end = "not_owner";
        return;
      }
      const page = claim.pages[0];
      if (!page) {
        // Another lane may still add links (or hand a page back): wait for it before giving up.
        if (inFlight === 0) return;
        await settled;
        continue;
      }
      inFlight++;
      try {
        await runPage(session, page, opts);
      } catch (err) {
        end ??= "stopping"; // the other lanes stop too; the caller settles the attempt
        throw err;
      } finally {
        inFlight--;
        signal();
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: PAGE_LANES }, lane));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;
  return end ?? "done";
}

async function runPage(
  session: CrawlSession,
  page: CrawlPageRow,
  opts: { processPage(page: CrawlPageRow): Promise<PageResult>; verb: string },
): Promise<void> {
  const { ctx, crawl, runToken, log } = session;
  await updateCrawlProgress(ctx.db, {
    crawlId: crawl.id,
    runToken,
    progress: progressOf(session, { status: "running", crawled: null, url: page.url, verb: opts.verb }),
  });
  const handBack = async (error: string, proxyBytes: number | undefined) => {
    log.warn({ url: page.url, err: error }, "crawl page handed back to the frontier");
    await requeueCrawlPage(ctx.db, {
      crawlId: crawl.id,
      runToken,
      pageId: page.id,
      error,
      // A page the worker's shutdown closed the browser under is not held against it.
      maxAttempts: ctx.cutShort() ? Number.MAX_SAFE_INTEGER : PAGE_ATTEMPTS,
      ...(proxyBytes === undefined ? {} : { proxyBytes }),
    });
  };
  let result: PageResult;
  try {
    result = await opts.processPage(page);
  } catch (err) {
    if (!(err instanceof TransientJobError)) throw err;
    await handBack(err.message, proxyBytesOf(err));
    return;
  }
  // Failed because the worker's shutdown closed the browser under it ("the page was closed"): not
  // the page's failure; the attempt that resumes the crawl loads it again.
  if (result.outcome.status === "failed" && ctx.cutShort()) {
    await handBack(result.outcome.errorMessage ?? "the worker is shutting down", result.outcome.proxyBytes);
    return;
  }
  const written = await completeCrawlPage(ctx.db, {
    crawlId: crawl.id,
    runToken,
    pageId: page.id,
    outcome: result.outcome,
    links: result.links,
    frontierCap: frontierCap(crawl.maxPages),
    ...(result.redirect ? { redirect: result.redirect } : {}),
  });
  if (!written.written) return;
  // Redirected to a page another lane got to first: written as a duplicate, its blobs are not kept.
  const outcome = written.duplicate && result.redirect ? result.redirect.duplicateOutcome : result.outcome;
  if (written.duplicate) await dropBlobs(session, result.outcome);
  await updateCrawlProgress(ctx.db, {
    crawlId: crawl.id,
    runToken,
    progress: progressOf(session, { status: "running", crawled: written.crawled, url: page.url, verb: opts.verb }),
  });
  session.webhooks?.send({
    event: "crawl.page",
    jobId: crawl.id,
    page: {
      id: page.id,
      url: page.url,
      title: outcome.title ?? "",
      status: outcome.status,
      error_message: outcome.errorMessage,
      ai_extraction_failed: outcome.aiExtractionFailed,
      ...pageEventData(outcome.data),
    },
  });
}

async function dropBlobs(session: CrawlSession, outcome: PageResult["outcome"]): Promise<void> {
  for (const key of [outcome.htmlKey, outcome.markdownKey]) {
    if (key) await session.ctx.blobs.delete(key).catch(() => undefined); // retention sweeps what is left
  }
}

/** `{status, message: "Scraping (3/10) https://…", progress, pagesCrawled, maxPages}` (D16). */
function progressOf(
  session: CrawlSession,
  opts: { status: string; crawled: number | null; url: string; verb: string },
): { status: string; message: string; progress: number; pagesCrawled: number; maxPages: number } {
  const max = session.crawl.maxPages;
  // Never below what this attempt already reported: two lanes may finish pages close together.
  const crawled = Math.max(opts.crawled ?? 0, session.crawledSoFar);
  session.crawledSoFar = crawled;
  const n = opts.crawled === null ? Math.min(crawled + 1, max) : crawled;
  return {
    status: opts.status,
    message: `${opts.verb} (${n}/${max}) ${opts.url}`,
    progress: Math.min(1, Math.round((crawled / Math.max(1, max)) * 1000) / 1000),
    pagesCrawled: crawled,
    maxPages: max,
  };
}
