import {
  countCrawlPages,
  finishCrawl,
  listCrawlPages,
  markCrawlDelayed,
  startCrawlAttempt,
  updateCrawlProgress,
  type CrawlJob,
} from "@orbweaver/db";
import { DelayedError, UnrecoverableError, type Job } from "bullmq";
import { TransientJobError, type WorkerContext } from "../worker-context.ts";
import { createScope } from "./crawl-scope.ts";
import { CookiesLostError, readJobCookies } from "../job-cookies.ts";
import { noteOnce, robotsUnreachableNote, type CrawlSession } from "./crawl-session.ts";
import { extractStoredPage } from "./extract-stored-page.ts";
import { createPageLoadPacer } from "./pace-page-loads.ts";
import { processCrawlPage } from "./process-crawl-page.ts";
import { createRobotsRules } from "./robots-rules.ts";
import { crawlSideRequests } from "./side-requests.ts";
import { runFrontier } from "./run-frontier.ts";
import { BaseUrlRefusedError, seedCrawl } from "./seed-crawl.ts";
import { crawlWebhookSender } from "./webhook-sender.ts";

/**
 * Runs one attempt of a crawl (or of an extraction over a finished crawl): claim it, seed the
 * frontier once, work through it, then settle credits and announce the outcome. The frontier is in
 * Postgres, so an attempt that dies is resumed by the next one where it stopped; a worker shutting
 * down hands the crawl back to the queue without spending an attempt.
 */
export async function processCrawlJob(
  ctx: WorkerContext,
  bullJob: Job<{ crawlId: string }>,
  opts: { token?: string; stopping(): boolean },
): Promise<void> {
  const { crawlId } = bullJob.data;
  const claimed = await startCrawlAttempt(ctx.db, crawlId);
  if (!claimed?.job.runToken) return; // finished by an earlier delivery, cancelled, or unknown
  const runToken = claimed.job.runToken;
  const session = createSession(ctx, claimed, runToken);
  const { crawl, log } = session;
  try {
    // Sealed beside the crawl by the gateway, never stored; a crawl sent with cookies runs with them or not at all.
    const withCookies = (claimed.job.request as { withCookies?: boolean } | null)?.withCookies;
    const cookies = await readJobCookies(ctx, crawl.id, withCookies);
    if (cookies) session.cookies = cookies;
    if (!crawl.seededAt) {
      await updateCrawlProgress(ctx.db, {
        crawlId,
        runToken,
        progress: {
          status: "starting",
          message: "Reading robots.txt and sitemap",
          progress: 0,
          pagesCrawled: 0,
          maxPages: crawl.maxPages,
        },
      });
      await seedCrawl(session);
    } else {
      // A resumed crawl (handed back or its worker died): progress goes on from the pages earlier
      // attempts processed, never back to 0.
      session.crawledSoFar = (await countCrawlPages(ctx.db, crawl.id)).crawled;
    }
    const extraction = crawl.sourceJobId !== null;
    const end = await runFrontier(session, {
      processPage: (page) => (extraction ? extractStoredPage(session, page) : processCrawlPage(session, page)),
      stopping: opts.stopping,
      verb: extraction ? "Extracting" : "Scraping",
    });
    if (end === "not_owner") {
      log.info("crawl no longer owned by this attempt (cancelled or taken over)");
      return;
    }
    if (end === "stopping") await handBack(session, { bullJob, token: opts.token });
    await settle(session);
    await ctx.secrets.delete(claimed.crawl.id).catch(() => undefined);
  } catch (err) {
    if (err instanceof DelayedError) throw err;
    // The worker's shutdown closed the browser under the crawl: not the crawl's failure.
    if (ctx.cutShort()) await handBack(session, { bullJob, token: opts.token });
    await settleFailure(session, { bullJob, err: err as Error });
  }
}

/** Back to the queue at once, without spending an attempt: another worker resumes the frontier. */
async function handBack(session: CrawlSession, opts: { bullJob: Job; token: string | undefined }): Promise<never> {
  const { ctx, crawl, runToken } = session;
  await markCrawlDelayed(ctx.db, { crawlId: crawl.id, runToken, error: "the worker is shutting down" });
  await opts.bullJob.moveToDelayed(Date.now(), opts.token);
  throw new DelayedError();
}

function createSession(ctx: WorkerContext, claimed: CrawlJob, runToken: string): CrawlSession {
  const { crawl } = claimed;
  const log = ctx.log.child({ crawlId: crawl.id, attempt: claimed.job.attempts });
  const side = crawlSideRequests(ctx, crawl);
  const robots = createRobotsRules({
    policy: ctx.config.network,
    respect: ctx.config.crawl.respectRobots,
    maxDelayMs: ctx.config.crawl.maxDelayMs,
    log,
    request: side.request,
    // Read lazily (a page's turn or its links): the session exists by then.
    onUnreachable: (origin, reason) => noteOnce(session, robotsUnreachableNote(origin, reason)),
  });
  const webhooks = crawlWebhookSender({ db: ctx.db, policy: ctx.config.network, log }, crawl);
  const session: CrawlSession = {
    ctx,
    crawl,
    runToken,
    log,
    webhooks,
    notes: new Set(crawl.notes),
    crawledSoFar: 0,
    links: { db: ctx.db, crawl, scope: createScope(crawl), robots, llm: ctx.llm, log, declined: new Set() },
    pace: createPageLoadPacer(robots),
    side,
  };
  return session;
}

/** Completed when at least one page was crawled, else failed with the base page's error. */
async function settle(session: CrawlSession): Promise<void> {
  const { ctx, crawl, runToken, log } = session;
  const counts = await countCrawlPages(ctx.db, crawl.id);
  const failed = counts.succeeded === 0;
  const error = failed ? await firstError(session) : undefined;
  const settled = await finishCrawl(ctx.db, {
    crawlId: crawl.id,
    runToken,
    status: failed ? "failed" : "completed",
    ...(error ? { error } : {}),
    creditsPer1kTokens: ctx.config.limits.creditsPer1kTokens,
  });
  if (!settled) return;
  log.info({ ...settled, status: failed ? "failed" : "completed" }, "crawl finished");
  if (failed) session.webhooks?.send({ event: "crawl.failed", jobId: crawl.id, error: error ?? "Crawl failed" });
  else
    session.webhooks?.send({
      event: "crawl.completed",
      jobId: crawl.id,
      pagesScraped: settled.pagesSucceeded,
      creditsUsed: settled.creditsUsed,
    });
}

async function firstError(session: CrawlSession): Promise<string> {
  const [first] = await listCrawlPages(session.ctx.db, session.crawl.id, ["failed"]);
  return first
    ? `No page could be crawled: ${first.url}: ${first.errorMessage ?? "failed"}`
    : "No page could be crawled";
}

/**
 * Infrastructure failures (Postgres, Redis, the browser refusing to start) are retried by the queue
 * while attempts remain; the last attempt, or a bug, fails the crawl (nothing charged).
 */
async function settleFailure(session: CrawlSession, opts: { bullJob: Job; err: Error }): Promise<never> {
  const { ctx, crawl, runToken, log } = session;
  const { err, bullJob } = opts;
  const retryable = err instanceof TransientJobError;
  const explained = err instanceof CookiesLostError || err instanceof BaseUrlRefusedError;
  const message = retryable || explained ? err.message : "Internal error while crawling";
  if (!(retryable || explained)) log.error({ err }, "crawl crashed");
  if (retryable && bullJob.attemptsMade + 1 < (bullJob.opts.attempts ?? 1)) {
    await markCrawlDelayed(ctx.db, { crawlId: crawl.id, runToken, error: message });
    throw err;
  }
  const settled = await finishCrawl(ctx.db, {
    crawlId: crawl.id,
    runToken,
    status: "failed",
    error: message,
    creditsPer1kTokens: ctx.config.limits.creditsPer1kTokens,
  });
  if (settled) session.webhooks?.send({ event: "crawl.failed", jobId: crawl.id, error: message });
  throw new UnrecoverableError(message);
}
