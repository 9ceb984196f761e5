import { normalizeScrapeRequest, validateActions, type ScrapeRequest } from "@orbweaver/contract";
import { createScrapeJob, finishJob } from "@orbweaver/db";
import { enqueueScrapeJob } from "@orbweaver/queue";
import type { FastifyBaseLogger } from "fastify";
import type { ApiDeps } from "../../deps.ts";
import { AppError } from "../../errors.ts";

/** Validates a scrape request beyond its JSON shape, stores the job, reserves credits, dispatches. */
export async function submitScrape(
  deps: ApiDeps,
  opts: { accountId: string; body: ScrapeRequest; log: FastifyBaseLogger },
): Promise<{ jobId: string; schemaWarnings: string[] }> {
  const { config } = deps;
  const max = config.limits.maxUrlsPerScrape;
  if (opts.body.urls.length > max) {
    throw new AppError("VALIDATION_ERROR", `A scrape accepts at most ${max} URLs (got ${opts.body.urls.length})`, {
      errors: [`urls must have at most ${max} items`],
    });
  }
  const request = normalizeScrapeRequest(opts.body);

  const actionErrors = request.urls.flatMap((u, i) => validateActions(u.actions, `urls[${i}].actions`));
  if (actionErrors.length > 0) {
    throw new AppError("VALIDATION_ERROR", `Invalid actions: ${actionErrors[0]}`, { errors: actionErrors });
  }

  const checks = await Promise.all(request.urls.map((u) => deps.checkUrl(u.url)));
  const urlErrors = checks.flatMap((c, i) => (c.ok ? [] : [`urls[${i}].url: ${c.reason}`]));
  if (urlErrors.length > 0) {
    throw new AppError("VALIDATION_ERROR", `URL refused: ${urlErrors[0]}`, { errors: urlErrors });
  }
  checks.forEach((c, i) => {
    if (c.ok && request.urls[i]) request.urls[i].url = c.url;
  });

  const schemaWarnings: string[] = [];
  const created = await createScrapeJob(deps.db, {
    accountId: opts.accountId,
    request,
    creditsToReserve: config.limits.creditsPerUrl * request.urls.length,
    maxPendingJobs: config.limits.maxPendingScrapeJobs,
    schemaWarnings,
  });
  if (!created.ok) {
    if (created.reason === "TOO_MANY_PENDING_JOBS") {
      throw new AppError(
        "TOO_MANY_PENDING_JOBS",
        `Too many pending scrape jobs (limit ${config.limits.maxPendingScrapeJobs}); wait for some to finish.`,
        { retryAfter: 5 },
      );
    }
    throw new AppError(
      "INSUFFICIENT_CREDITS",
      "You have exceeded your credit limit: not enough credits for this scrape.",
    );
  }

  try {
    await enqueueScrapeJob(deps.scrapeQueue, created.jobId);
  } catch (err) {
    // The row exists but nothing will run it: settle it as failed (refunding the reservation) and say so.
    opts.log.error({ err, jobId: created.jobId }, "could not dispatch job");
    await finishJob(deps.db, {
      jobId: created.jobId,
      runToken: null,
      status: "failed",
      error: "The job could not be queued; the queue is unavailable.",
      creditsUsed: 0,
    }).catch(() => undefined);
    throw new AppError("SERVICE_BUSY", "The job queue is unavailable; try again shortly.", { retryAfter: 60 });
  }
  return { jobId: created.jobId, schemaWarnings };
}
