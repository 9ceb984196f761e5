import type { NormalizedScrapeRequest, ScrapeResult } from "@orbweaver/contract";
import { buildScrapeResult } from "./build-scrape-result.ts";
import { finishJob, isDbUnavailable, markJobDelayed, updateJobProgress, type JobRow } from "@orbweaver/db";
import { extractionAsksModel } from "@orbweaver/extract";
import { E_CANCELED } from "async-mutex";
import { UnrecoverableError, WaitingError, type Job } from "bullmq";
import { claimWhenWritten } from "./claim-when-written.ts";
import { CookiesLostError, readJobCookies } from "./job-cookies.ts";
import { retryWhileDbDown } from "./retry-while-db-down.ts";
import { scrapeUrl } from "./scrape-url.ts";
import { TransientJobError, type WorkerContext } from "./worker-context.ts";

/**
 * Runs one attempt of a scrape job: claim the row, load every URL in parallel, write the result and
 * settle credits. Transient failures are rethrown for BullMQ's retry (the row shows `delayed`);
 * the last attempt, or a permanent failure, settles the job as failed with nothing charged.
 */
export async function processScrapeJob(
  ctx: WorkerContext,
  bullJob: Job<{ jobId: string }>,
  token?: string,
): Promise<void> {
  // One of the worker's browser slots from the claim until the pages are read (see browserSlots).
  let releaseSlot: () => void;
  try {
    [, releaseSlot] = await ctx.browserSlots.acquire();
  } catch (err) {
    // The worker is stopping (its waits for a slot were cancelled): the job, not claimed yet, goes
    // back to the queue for another worker, without counting as an attempt.
    if (err !== E_CANCELED || !token) throw err;
    await bullJob.moveToWait(token);
    throw new WaitingError();
  }
  try {
    await runScrapeJob(ctx, { bullJob, token, releaseSlot });
  } finally {
    releaseSlot();
  }
}

async function runScrapeJob(
  ctx: WorkerContext,
  opts: { bullJob: Job<{ jobId: string }>; token: string | undefined; releaseSlot: () => void },
) {
  const { bullJob, token, releaseSlot } = opts;
  const { jobId } = bullJob.data;
  const row = await claimWhenWritten(ctx, bullJob);
  if (!row?.runToken) return; // finished by an earlier delivery, withdrawn, or never written: nothing to do
  const runToken = row.runToken;
  const log = ctx.log.child({ jobId, attempt: row.attempts });
  const request = row.request as NormalizedScrapeRequest;
  const started = Date.now();
  // Progress is a courtesy: written in order, one write at a time, without holding up the pages; a
  // write that fails (a database outage) is logged, never the job's failure (the settling write waits
  // for the database). A write that lands after the result finds the job no longer active: a no-op.
  let progressWrites: Promise<void> = Promise.resolve();
  const progress = (p: { message: string; progress: number }) =>
    (progressWrites = progressWrites.then(() =>
      updateJobProgress(ctx.db, { jobId, runToken, progress: p }).catch((err: unknown) => {
        log.warn({ err }, isDbUnavailable(err) ? "database unavailable; progress not written" : "progress not written");
      }),
    ));
  // The settling write waits out a database outage for up to the job's own time budget.
  const settle = (opts: Parameters<typeof finishJob>[1]) =>
    retryWhileDbDown(() => finishJob(ctx.db, opts), {
      log,
      budgetMs: ctx.config.jobs.jobTimeoutMs,
      what: "the result write",
    });

  try {
    // Sealed by the gateway, never stored; gone for good once the job ends.
    const cookies = await readJobCookies(ctx, jobId, request.withCookies);
    void progress({ message: "Loading pages", progress: 0.2 });
    const outcomes = await withDeadline(
      Promise.all(
        request.urls.map((u, i) =>
          scrapeUrl(ctx, {
            url: u.url,
            tag: `${jobId}.${i}.${runToken.slice(0, 8)}`,
            extractContentOnly: request.extractContentOnly,
            withMetadata: extractionAsksModel(request),
            actions: u.actions,
            deadline: started + ctx.config.jobs.jobTimeoutMs,
            index: i,
            scrapeMode: request.scrapeMode ?? "default",
            cookies,
            onCaptcha: () => progress({ message: "Solving CAPTCHA", progress: 0.4 }),
            log,
            ...(request.useProxy ? { proxy: { country: request.proxyCountry } } : {}),
            ...(request.screenshot
              ? {
                  screenshot: {
                    key: `screenshots/${jobId}/${row.attempts}-${i}.png`,
                    fullPage: request.fullPageScreenshot,
                  },
                }
              : {}),
          }),
        ),
      ),
      ctx.config.jobs.jobTimeoutMs,
    );
    // The pages are read and their contexts closing: the model call and the write need no browser.
    releaseSlot();
    // A page the worker's shutdown closed the browser under did not fail: the job runs again elsewhere.
    if (ctx.cutShort() && outcomes.some((o) => !o.page.success)) await handBack(ctx, { bullJob, token, runToken });
    const successes = outcomes.filter((o) => o.page.success).length;
    if (successes === 0) {
      const error = outcomes.map((o) => `${o.page.url}: ${o.page.error ?? "failed"}`).join("; ");
      // Nothing is charged, but what the URLs moved through upstream proxies was moved: it is the
      // account's bandwidth (logs, usage) as a completed job's failed URLs' is.
      const proxyBytes = outcomes.reduce((n, o) => n + (o.proxyBytes ?? 0), 0);
      const failedStats = { ...stats(started), ...(proxyBytes > 0 ? { proxyBytes } : {}) };
      const written = await settle({ jobId, runToken, status: "failed", error, creditsUsed: 0, stats: failedStats });
      if (!written) log.warn("result refused: another attempt owns this job");
      else log.info({ error }, "scrape failed");
      throw new UnrecoverableError(error);
    }
    const { result, tokens } = await buildScrapeResult(ctx, {
      request,
      outcomes,
      started,
      deadline: started + ctx.config.jobs.jobTimeoutMs,
      onAiStart: () => progress({ message: "Processing content with AI...", progress: 0.6 }),
    });
    const creditsUsed = (row.creditsReserved / request.urls.length) * successes;
    // Model tokens are charged on top of the per-URL price, as far as the balance goes.
    const tokenCredits = Math.round((tokens / 1000) * ctx.config.limits.creditsPer1kTokens * 10_000) / 10_000;
    // Each solved CAPTCHA is charged the same way (contract §12: 10 credits per solve by default).
    const captchaCredits = result.stats.captchaSolvedCount * ctx.config.captcha.creditsPerSolve;
    const written = await settle({
      jobId,
      runToken,
      status: "completed",
      result,
      stats: result.stats,
      creditsUsed,
      extraCharge: tokenCredits + captchaCredits,
      extraChargeNote: captchaCredits > 0 ? "model tokens and CAPTCHA solves" : "model tokens",
    });
    if (!written) log.warn("result refused: another attempt owns this job");
    else log.info({ urls: request.urls.length, successes, durationMs: result.stats.durationMs }, "scrape completed");
  } catch (err) {
    if (err instanceof UnrecoverableError || err instanceof WaitingError) throw err;
    if (ctx.cutShort()) await handBack(ctx, { bullJob, token, runToken });
    await settleFailure(ctx, { row, runToken, bullJob, err: err as Error, started });
  }
}

/**
 * Hands a job the worker's shutdown cut short back to the queue, settling nothing: the row waits
 * again (`delayed`, whatever attempt it was on) and BullMQ puts the job back at the head of the
 * waiting list without counting an attempt, for another worker to run from the start. Should the
 * queue be out of reach, the job's lock lapses and stall detection hands it over the same way.
 */
async function handBack(
  ctx: WorkerContext,
  opts: { bullJob: Job<{ jobId: string }>; token: string | undefined; runToken: string },
): Promise<never> {
  const { bullJob, token, runToken } = opts;
  await markJobDelayed(ctx.db, { jobId: bullJob.data.jobId, runToken, error: "the worker was shutting down" });
  if (token) await bullJob.moveToWait(token);
  ctx.log.info({ jobId: bullJob.data.jobId }, "job handed back at shutdown");
  throw new WaitingError();
}

async function settleFailure(
  ctx: WorkerContext,
  opts: { row: JobRow; runToken: string; bullJob: Job; err: Error; started: number },
): Promise<never> {
  const { row, runToken, bullJob, err } = opts;
  const attemptsAllowed = bullJob.opts.attempts ?? 1;
  // A database outage is infrastructure, not the page's fault: worth another attempt.
  const dbDown = isDbUnavailable(err);
  const retryable = err instanceof TransientJobError || dbDown;
  const explained = err instanceof DeadlineError || err instanceof CookiesLostError;
  const message = dbDown
    ? "The database was unavailable"
    : retryable || explained
      ? err.message
      : "Internal error while scraping";
  if (!(retryable || explained)) ctx.log.error({ err, jobId: row.id }, "scrape crashed");
  if (retryable && bullJob.attemptsMade + 1 < attemptsAllowed) {
    await markJobDelayed(ctx.db, { jobId: row.id, runToken, error: message });
    throw err;
  }
  await finishJob(ctx.db, {
    jobId: row.id,
    runToken,
    status: "failed",
    error: message,
    creditsUsed: 0,
    stats: stats(opts.started),
  });
  throw new UnrecoverableError(message);
}

function stats(started: number): ScrapeResult["stats"] {
  return { durationMs: Date.now() - started, captchaSolvedCount: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0 };
}

class DeadlineError extends Error {
  override name = "DeadlineError";
}

/** Bounds a whole job; the pages keep their own navigation timeouts inside it. */
async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`The job did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
