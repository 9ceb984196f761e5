import { randomUUID } from "node:crypto";
import { normalizeScrapeRequest, validateActions, type ScrapeRequest } from "@orbweaver/contract";
import { mayHaveCommitted, type AccountLimits, type CreateScrapeJobResult, type IdempotencyEntry } from "@orbweaver/db";
import { enqueueScrapeJob, withdrawScrapeJob } from "@orbweaver/queue";
import type { FastifyBaseLogger } from "fastify";
import type { ApiDeps } from "../../deps.ts";
import { AppError } from "../../errors.ts";
import type { CookieObject } from "@orbweaver/browser";
import { checkOutputSchema } from "../../use-cases/check-output-schema.ts";
import { checkCookies, checkFastMode, checkProxyOptions } from "../../use-cases/check-request-options.ts";
import { checkTargetUrls } from "../../use-cases/check-target-urls.ts";
import { dispatchOrFail } from "../../use-cases/dispatch-or-fail.ts";

/**
 * Validates a scrape request beyond its JSON shape; stores the job (with its `Idempotency-Key`, when
 * given) and reserves credits while it dispatches.
 */
export async function submitScrape(
  deps: ApiDeps,
  opts: {
    accountId: string;
    limits: AccountLimits;
    body: ScrapeRequest;
    log: FastifyBaseLogger;
    idempotency?: IdempotencyEntry | undefined;
  },
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
  checkFastMode(request);
  const schemaWarnings = checkOutputSchema(request.schema);
  checkProxyOptions(deps, { useProxy: request.useProxy, proxyCountry: request.proxyCountry });
  const cookies = checkCookies({
    header: opts.body.cookies,
    perUrl: opts.body.urls.map((u) => u.cookies as CookieObject[] | undefined),
  });
  if (cookies) request.withCookies = true;
  const urls = await checkTargetUrls(
    deps,
    request.urls.map((u, i) => ({ path: `urls[${i}].url`, url: u.url })),
  );
  urls.forEach((url, i) => {
    if (request.urls[i]) request.urls[i].url = url;
  });

  const maxPending = opts.limits.maxPendingScrapeJobs ?? config.limits.maxPendingScrapeJobs;
  // The job is dispatched while its row is written: the two round trips overlap instead of adding up
  // (the 202 still waits for both). A worker that takes the job before the row is visible waits for
  // it; a row refused or not written takes the job back.
  const jobId = randomUUID();
  const dispatching = (async () => {
    if (cookies) await deps.secrets.put(jobId, cookies);
    await enqueueScrapeJob(deps.scrapeQueue, jobId);
  })();
  dispatching.catch(() => undefined);
  const withdraw = async () => {
    const dispatched = await dispatching.then(
      () => true,
      () => false,
    );
    await Promise.all([
      dispatched
        ? withdrawScrapeJob(deps.scrapeQueue, { redis: deps.redis, prefix: config.queuePrefix, jobId })
        : undefined,
      cookies ? deps.secrets.delete(jobId) : undefined,
    ]).catch((err: unknown) => opts.log.warn({ err, jobId }, "could not withdraw a dispatched job"));
  };
  let created: CreateScrapeJobResult;
  try {
    created = await deps.jobWriter.create({
      id: jobId,
      accountId: opts.accountId,
      request,
      creditsToReserve: config.limits.creditsPerUrl * request.urls.length,
      maxPendingJobs: maxPending,
      schemaWarnings,
      ...(opts.idempotency ? { idempotency: opts.idempotency } : {}),
    });
  } catch (err) {
    // The connection dropped with the write on its way: the row may have been committed and only its
    // answer lost. The job then stays dispatched, with its cookies: a worker runs it as soon as the
    // row is visible, or drops it if the row never appears (claimWhenWritten). Withdrawn, a committed
    // job would wait for the reconciler and run without the cookies it was sent with.
    if (!mayHaveCommitted(err)) await withdraw();
    throw err;
  }
  if (!created.ok) {
    await withdraw();
    if (created.reason === "TOO_MANY_PENDING_JOBS") {
      throw new AppError(
        "TOO_MANY_PENDING_JOBS",
        `Too many pending scrape jobs (limit ${maxPending}); wait for some to finish.`,
        { retryAfter: 5 },
      );
    }
    throw new AppError(
      "INSUFFICIENT_CREDITS",
      "You have exceeded your credit limit: not enough credits for this scrape.",
    );
  }
  await dispatchOrFail(deps, { jobIds: [jobId], log: opts.log, dispatch: () => dispatching });
  return { jobId, schemaWarnings };
}
