import { normalizeScrapeRequest, validateActions, type ScrapeRequest } from "@orbweaver/contract";
import type { AccountLimits } from "@orbweaver/db";
import { enqueueScrapeJob } from "@orbweaver/queue";
import type { FastifyBaseLogger } from "fastify";
import type { ApiDeps } from "../../deps.ts";
import { AppError } from "../../errors.ts";
import type { CookieObject } from "@orbweaver/browser";
import { checkOutputSchema } from "../../use-cases/check-output-schema.ts";
import { checkCookies, checkProxyOptions } from "../../use-cases/check-request-options.ts";
import { checkTargetUrls } from "../../use-cases/check-target-urls.ts";
import { dispatchOrFail } from "../../use-cases/dispatch-or-fail.ts";

/** Validates a scrape request beyond its JSON shape, stores the job, reserves credits, dispatches. */
export async function submitScrape(
  deps: ApiDeps,
  opts: { accountId: string; limits: AccountLimits; body: ScrapeRequest; log: FastifyBaseLogger },
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
  const created = await deps.jobWriter.create({
    accountId: opts.accountId,
    request,
    creditsToReserve: config.limits.creditsPerUrl * request.urls.length,
    maxPendingJobs: maxPending,
    schemaWarnings,
  });
  if (!created.ok) {
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
  await dispatchOrFail(deps, {
    jobIds: [created.jobId],
    log: opts.log,
    dispatch: async () => {
      if (cookies) await deps.secrets.put(created.jobId, cookies);
      await enqueueScrapeJob(deps.scrapeQueue, created.jobId);
    },
  });
  return { jobId: created.jobId, schemaWarnings };
}
