import { normalizeScrapeRequest, type BatchScrapeRequest } from "@orbweaver/contract";
import { createBatch, failBatch, type AccountLimits, type IdempotencyEntry } from "@orbweaver/db";
import { dispatchBatch } from "@orbweaver/queue";
import type { FastifyBaseLogger } from "fastify";
import type { ApiDeps } from "../../deps.ts";
import { AppError } from "../../errors.ts";
import { checkOutputSchema } from "../../use-cases/check-output-schema.ts";
import { checkCookies, checkFastMode, checkProxyOptions } from "../../use-cases/check-request-options.ts";
import { checkTargetUrls } from "../../use-cases/check-target-urls.ts";
import { refuseItemOptions } from "./refuse-item-options.ts";

/**
 * Validates a batch, stores it with one job per URL (and its `Idempotency-Key`, when given), reserves
 * every item's credits, dispatches the first items.
 */
export async function submitBatch(
  deps: ApiDeps,
  opts: {
    accountId: string;
    limits: AccountLimits;
    body: BatchScrapeRequest;
    log: FastifyBaseLogger;
    idempotency?: IdempotencyEntry | undefined;
  },
): Promise<{ batchId: string; total: number; schemaWarnings: string[] }> {
  const { limits } = deps.config;
  const raw = opts.body.urls.map((u) => (typeof u === "string" ? u : u.url));
  if (raw.length > limits.maxUrlsPerBatch) {
    throw new AppError(
      "VALIDATION_ERROR",
      `A batch accepts at most ${limits.maxUrlsPerBatch} URLs (got ${raw.length})`,
      {
        errors: [`urls must have at most ${limits.maxUrlsPerBatch} items`],
      },
    );
  }
  refuseItemOptions(opts.body.urls);
  const { urls: _ignored, ...options } = normalizeScrapeRequest({ ...opts.body, urls: raw.map((url) => ({ url })) });
  checkFastMode({ ...options, urls: [] });
  const schemaWarnings = checkOutputSchema(options.schema);
  checkProxyOptions(deps, { useProxy: options.useProxy, proxyCountry: options.proxyCountry });
  const cookies = checkCookies({ header: opts.body.cookies, perUrl: [] });
  if (cookies) options.withCookies = true;
  const urls = await checkTargetUrls(
    deps,
    raw.map((url, i) => ({ path: `urls[${i}]`, url })),
  );
  const maxPending = opts.limits.maxPendingBatches ?? limits.maxPendingBatches;
  const created = await createBatch(deps.db, {
    accountId: opts.accountId,
    urls,
    request: options,
    outputFormat: options.output ?? (options.prompt ? "json" : "markdown"),
    creditsPerItem: limits.creditsPerUrl,
    maxPendingBatches: maxPending,
    schemaWarnings,
    ...(opts.idempotency ? { idempotency: opts.idempotency } : {}),
  });
  if (!created.ok) {
    if (created.reason === "TOO_MANY_PENDING_JOBS") {
      throw new AppError("TOO_MANY_PENDING_JOBS", `Too many pending batches (limit ${maxPending}).`, {
        retryAfter: 5,
      });
    }
    throw new AppError(
      "INSUFFICIENT_CREDITS",
      `Not enough credits to reserve ${urls.length} × ${limits.creditsPerUrl} credits for this batch.`,
    );
  }
  try {
    if (cookies) for (const jobId of created.jobIds) await deps.secrets.put(jobId, cookies);
    await dispatchBatch(deps.db, deps.scrapeQueue, { batchId: created.batchId, concurrency: limits.batchConcurrency });
  } catch (err) {
    // The batch as a whole failed: nothing runs it, so settle it (refunding every item) and say so.
    opts.log.error({ err, batchId: created.batchId }, "could not dispatch batch");
    await failBatch(deps.db, { batchId: created.batchId, error: "The batch could not be queued" }).catch(() => 0);
    throw new AppError("SERVICE_BUSY", "The job queue is unavailable; try again shortly.", { retryAfter: 60 });
  }
  return { batchId: created.batchId, total: urls.length, schemaWarnings };
}
