import { MAX_INSTRUCTION_CHARS } from "@orbweaver/contract";
import { createCrawl, getCrawl, type AccountLimits, type IdempotencyEntry } from "@orbweaver/db";
import type { FastifyBaseLogger } from "fastify";
import type { ApiDeps } from "../../deps.ts";
import { AppError } from "../../errors.ts";
import { dispatchCrawl } from "./submit-crawl.ts";

/**
 * POST /crawl/{id}/extract (§8.3): a new crawl job that runs `transformInstruction` over the
 * source crawl's stored pages — no browser, no re-crawl, only model tokens charged (so an empty
 * balance is refused). Its history record carries `source_job_id`.
 */
export async function submitCrawlExtraction(
  deps: ApiDeps,
  opts: {
    accountId: string;
    limits: AccountLimits;
    sourceId: string;
    body: unknown;
    log: FastifyBaseLogger;
    /** The submit's `Idempotency-Key`, recorded with the new job. */
    idempotency?: IdempotencyEntry | undefined;
  },
): Promise<{ jobId: string }> {
  const raw = (opts.body as { transformInstruction?: unknown } | undefined)?.transformInstruction;
  if (typeof raw !== "string" || raw.trim() === "") {
    throw new AppError("VALIDATION_ERROR", "Missing required field: transformInstruction", {
      errors: ["transformInstruction is required"],
    });
  }
  if (raw.length > MAX_INSTRUCTION_CHARS) {
    throw new AppError(
      "VALIDATION_ERROR",
      `transformInstruction must be ${MAX_INSTRUCTION_CHARS} characters or fewer`,
      {
        errors: [`transformInstruction must be ${MAX_INSTRUCTION_CHARS} characters or fewer`],
      },
    );
  }
  const source = await getCrawl(deps.db, opts.sourceId, opts.accountId);
  const maxPending = opts.limits.maxPendingCrawls ?? deps.config.crawl.maxPendingCrawls;
  if (!source) throw new AppError("NOT_FOUND", "Source crawl job not found");
  if (source.job.status !== "completed") {
    throw new AppError("VALIDATION_ERROR", "Source crawl job has not completed successfully");
  }
  const { crawl } = source;
  const created = await createCrawl(deps.db, {
    accountId: opts.accountId,
    settings: {
      baseUrl: crawl.baseUrl,
      crawlInstruction: crawl.crawlInstruction,
      customInstruction: false,
      transformInstruction: raw,
      outputSchema: null,
      // Replaced by the number of pages copied from the source.
      maxPages: crawl.maxPages,
      maxDepth: crawl.maxDepth,
      includePaths: crawl.includePaths,
      excludePaths: crawl.excludePaths,
      allowSubdomains: crawl.allowSubdomains,
      crawlEntireDomain: crawl.crawlEntireDomain,
      ignoreQueryParams: crawl.ignoreQueryParams,
      webhookUrl: null,
      useProxy: false,
      proxyCountry: null,
      scrapeMode: crawl.scrapeMode,
      creditsPerPage: 0,
    },
    request: { kind: "crawl-extract", sourceJobId: crawl.id, transformInstruction: raw },
    creditsToReserve: 0,
    maxPendingCrawls: maxPending,
    sourceJobId: crawl.id,
    requireCredits: true,
    ...(opts.idempotency ? { idempotency: opts.idempotency } : {}),
  });
  if (!created.ok) {
    if (created.reason === "TOO_MANY_PENDING_JOBS") {
      throw new AppError(
        "TOO_MANY_PENDING_JOBS",
        `Too many pending crawls (limit ${maxPending}); wait for some to finish.`,
        { retryAfter: 5 },
      );
    }
    throw new AppError("INSUFFICIENT_CREDITS", "You have no credits left for the extraction's model tokens.");
  }
  await dispatchCrawl(deps, { crawlId: created.crawlId, log: opts.log });
  return { jobId: created.crawlId };
}
