import type { NormalizedScrapeRequest, ScrapeResult } from "@orbweaver/contract";
import { finishJob, markJobDelayed, startJobAttempt, updateJobProgress, type JobRow } from "@orbweaver/db";
import { UnrecoverableError, type Job } from "bullmq";
import { scrapeUrl, type UrlOutcome } from "./scrape-url.ts";
import { TransientJobError, type WorkerContext } from "./worker-context.ts";

/**
 * Runs one attempt of a scrape job: claim the row, load every URL in parallel, write the result and
 * settle credits. Transient failures are rethrown for BullMQ's retry (the row shows `delayed`);
 * the last attempt, or a permanent failure, settles the job as failed with nothing charged.
 */
export async function processScrapeJob(ctx: WorkerContext, bullJob: Job<{ jobId: string }>): Promise<void> {
  const { jobId } = bullJob.data;
  const row = await startJobAttempt(ctx.db, jobId);
  if (!row?.runToken) return; // finished by an earlier delivery, or unknown: nothing to do
  const runToken = row.runToken;
  const log = ctx.log.child({ jobId, attempt: row.attempts });
  const request = row.request as NormalizedScrapeRequest;
  const started = Date.now();

  try {
    await updateJobProgress(ctx.db, { jobId, runToken, progress: { message: "Loading pages", progress: 0.2 } });
    const outcomes = await withDeadline(
      Promise.all(
        request.urls.map((u, i) =>
          scrapeUrl(ctx, {
            url: u.url,
            tag: `${jobId}.${i}.${runToken.slice(0, 8)}`,
            extractContentOnly: request.extractContentOnly,
          }),
        ),
      ),
      ctx.config.jobs.jobTimeoutMs,
    );
    const successes = outcomes.filter((o) => o.page.success).length;
    if (successes === 0) {
      const error = outcomes.map((o) => `${o.page.url}: ${o.page.error ?? "failed"}`).join("; ");
      await finishJob(ctx.db, { jobId, runToken, status: "failed", error, creditsUsed: 0, stats: stats(started) });
      log.info({ error }, "scrape failed");
      throw new UnrecoverableError(error);
    }
    const result = buildResult(outcomes, started);
    const creditsUsed = (row.creditsReserved / request.urls.length) * successes;
    const written = await finishJob(ctx.db, {
      jobId,
      runToken,
      status: "completed",
      result,
      stats: result.stats,
      creditsUsed,
    });
    if (!written) log.warn("result refused: another attempt owns this job");
    else log.info({ urls: request.urls.length, successes, durationMs: result.stats.durationMs }, "scrape completed");
  } catch (err) {
    if (err instanceof UnrecoverableError) throw err;
    await settleFailure(ctx, { row, runToken, bullJob, err: err as Error, started });
  }
}

async function settleFailure(
  ctx: WorkerContext,
  opts: { row: JobRow; runToken: string; bullJob: Job; err: Error; started: number },
): Promise<never> {
  const { row, runToken, bullJob, err } = opts;
  const attemptsAllowed = bullJob.opts.attempts ?? 1;
  const retryable = err instanceof TransientJobError;
  const message = retryable
    ? err.message
    : err instanceof DeadlineError
      ? err.message
      : "Internal error while scraping";
  if (!(retryable || err instanceof DeadlineError)) ctx.log.error({ err, jobId: row.id }, "scrape crashed");
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

function buildResult(outcomes: UrlOutcome[], started: number): ScrapeResult {
  const ok = outcomes.filter((o) => o.page.success);
  const content = ok.length === 1 ? (ok[0]?.markdown ?? "") : ok.map((o) => o.markdown).join("\n\n---\n\n");
  return {
    content,
    data: outcomes.map((o) => o.page),
    screenshots: outcomes.flatMap((o) => (o.page.screenshotUrl ? [o.page.screenshotUrl] : [])),
    ai_extraction_failed: false,
    stats: stats(started),
  };
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
