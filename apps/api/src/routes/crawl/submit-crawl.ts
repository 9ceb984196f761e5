import { DEFAULT_CRAWL_INSTRUCTION, MAX_INSTRUCTION_CHARS, type CrawlRequest } from "@orbweaver/contract";
import { createCrawl, finishCrawl, type AccountLimits, type CrawlSettings, type IdempotencyEntry } from "@orbweaver/db";
import type { CookieObject } from "@orbweaver/browser";
import { enqueueCrawlJob } from "@orbweaver/queue";
import { checkCookies, checkProxyOptions, type SealedCookies } from "../../use-cases/check-request-options.ts";
import type { FastifyBaseLogger } from "fastify";
import type { ApiDeps } from "../../deps.ts";
import { AppError } from "../../errors.ts";
import { checkOutputSchema } from "../../use-cases/check-output-schema.ts";
import { checkTargetUrls } from "../../use-cases/check-target-urls.ts";

/**
 * Deepest `maxDepth` stored (the column is a 32-bit integer): a larger depth is just as unlimited,
 * since a crawl of at most MAX_CRAWL_PAGES pages never goes deeper than that.
 */
const MAX_STORED_DEPTH = 2_147_483_647;

/** `maxPages` when the client sends none (or 0, which the Go SDK means as "unset"). */
export const DEFAULT_MAX_PAGES = 5;

const present = (v: string | undefined): string | undefined => (v === undefined || v.trim() === "" ? undefined : v);

function checkInstruction(name: string, value: string | undefined): void {
  if (value !== undefined && value.length > MAX_INSTRUCTION_CHARS) {
    throw new AppError("VALIDATION_ERROR", `${name} must be ${MAX_INSTRUCTION_CHARS} characters or fewer`, {
      errors: [`${name} must be ${MAX_INSTRUCTION_CHARS} characters or fewer`],
    });
  }
}

/** `maxPages`: default 5, at least 1, at most the MAX_CRAWL_PAGES setting (400 beyond, D13). */
function checkMaxPages(requested: number | undefined, cap: number): number {
  if (requested === undefined || requested === 0) return Math.min(DEFAULT_MAX_PAGES, cap);
  const problem =
    requested < 1 ? "maxPages must be at least 1" : requested > cap ? `maxPages must be at most ${cap}` : null;
  if (problem) throw new AppError("VALIDATION_ERROR", problem, { errors: [problem] });
  return requested;
}

function hasCredentials(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== "" || parsed.password !== "";
  } catch {
    return false;
  }
}

/**
 * `includePaths`/`excludePaths` match URL paths (`/blog/*`); a pattern written as a whole URL
 * (`https://example.com/blog/*`, as people and models often do) means its path, instead of a
 * pattern no path can match (an include that silently left the crawl at its base page). Blank
 * patterns are dropped; null when none is left.
 */
function pathPatterns(patterns: string[] | undefined): string[] | null {
  const kept = (patterns ?? []).flatMap((raw) => {
    const pattern = raw.trim();
    if (pattern === "") return [];
    if (!/^https?:\/\//i.test(pattern)) return [pattern];
    try {
      return [new URL(pattern).pathname];
    } catch {
      return [pattern];
    }
  });
  return kept.length > 0 ? kept : null;
}

/** A per-page schema describes one page's record: its root must be an object (§8.1). */
function checkCrawlSchema(schema: Record<string, unknown> | undefined): string[] {
  if (!schema || Object.keys(schema).length === 0) return [];
  if (schema.type !== "object") {
    throw new AppError("SCHEMA_INVALID", 'Invalid schema: the root must be {"type": "object"}', {
      errors: ['schema: the root must be {"type": "object"}'],
    });
  }
  return checkOutputSchema(schema);
}

/**
 * Validates a crawl beyond its JSON shape (caps, instructions, schema, SSRF check of the base and
 * webhook URLs), stores it with its credits reserved (`maxPages` × CREDITS_PER_CRAWL_PAGE) and its
 * `Idempotency-Key` (when given), and dispatches it. Cookies are accepted and never stored.
 */
export async function submitCrawl(
  deps: ApiDeps,
  opts: {
    accountId: string;
    limits: AccountLimits;
    body: CrawlRequest;
    log: FastifyBaseLogger;
    idempotency?: IdempotencyEntry | undefined;
  },
): Promise<{ jobId: string; schemaWarnings: string[] }> {
  const { body } = opts;
  const limits = deps.config.crawl;
  const maxPages = checkMaxPages(body.maxPages, limits.maxPages);
  const crawlInstruction = present(body.crawlInstruction)?.trim();
  const transformInstruction = present(body.transformInstruction);
  checkInstruction("crawlInstruction", crawlInstruction);
  checkInstruction("transformInstruction", transformInstruction);
  const schema = body.schema && Object.keys(body.schema).length > 0 ? body.schema : undefined;
  const schemaWarnings = checkCrawlSchema(schema);
  checkProxyOptions(deps, {
    useProxy: body.useProxy === true,
    proxyCountry: present(body.proxyCountry)?.trim().toLowerCase(),
  });
  const cookies = checkCookies(
    typeof body.cookies === "string"
      ? { header: body.cookies, perUrl: [] }
      : { header: undefined, perUrl: body.cookies ? [body.cookies as CookieObject[]] : [] },
  );
  const webhook = present(body.webhookUrl)?.trim();
  const [baseUrl = body.baseUrl, webhookUrl] = await checkTargetUrls(deps, [
    { path: "baseUrl", url: body.baseUrl },
    ...(webhook ? [{ path: "webhookUrl", url: webhook }] : []),
  ]);
  // The worker never follows such URLs (their credentials would go to every page): said now, not as a failed crawl.
  if (hasCredentials(baseUrl)) {
    const problem = "baseUrl: a crawl cannot start from a URL holding a user name or password (send cookies instead)";
    throw new AppError("VALIDATION_ERROR", problem, { errors: [problem] });
  }
  const settings: CrawlSettings = {
    baseUrl,
    crawlInstruction: crawlInstruction ?? DEFAULT_CRAWL_INSTRUCTION,
    customInstruction: crawlInstruction !== undefined && crawlInstruction !== DEFAULT_CRAWL_INSTRUCTION,
    transformInstruction: transformInstruction ?? null,
    outputSchema: schema ?? null,
    maxPages,
    maxDepth: body.maxDepth === undefined ? null : Math.min(body.maxDepth, MAX_STORED_DEPTH),
    includePaths: pathPatterns(body.includePaths),
    excludePaths: pathPatterns(body.excludePaths),
    allowSubdomains: body.allowSubdomains === true,
    crawlEntireDomain: body.crawlEntireDomain === true,
    ignoreQueryParams: body.ignoreQueryParams === true,
    webhookUrl: webhookUrl ?? null,
    useProxy: body.useProxy === true,
    proxyCountry: present(body.proxyCountry)?.trim().toLowerCase() ?? null,
    scrapeMode: body.scrapeMode ?? "default",
    creditsPerPage: limits.creditsPerPage,
  };
  const maxPending = opts.limits.maxPendingCrawls ?? limits.maxPendingCrawls;
  const created = await createCrawl(deps.db, {
    accountId: opts.accountId,
    settings,
    request: { ...settings, kind: "crawl", ...(cookies ? { withCookies: true } : {}) },
    creditsToReserve: maxPages * limits.creditsPerPage,
    maxPendingCrawls: maxPending,
    schemaWarnings,
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
    throw new AppError(
      "INSUFFICIENT_CREDITS",
      `Not enough credits to reserve ${maxPages} × ${limits.creditsPerPage} credits for this crawl.`,
    );
  }
  // Sealed beside the crawl for the worker, never stored; when they cannot be, the crawl fails as a queue outage.
  await dispatchCrawl(deps, { crawlId: created.crawlId, log: opts.log, ...(cookies ? { cookies } : {}) });
  return { jobId: created.crawlId, schemaWarnings };
}

/**
 * Hands a stored crawl to the queue; when the queue is unreachable the crawl is settled as failed
 * (its reservation refunded) and the client gets 503 SERVICE_BUSY instead of a crawl nobody runs.
 */
export async function dispatchCrawl(
  deps: ApiDeps,
  opts: { crawlId: string; log: FastifyBaseLogger; cookies?: SealedCookies },
): Promise<void> {
  try {
    if (opts.cookies) await deps.secrets.put(opts.crawlId, opts.cookies);
    await enqueueCrawlJob(deps.crawlQueue, opts.crawlId);
  } catch (err) {
    opts.log.error({ err, crawlId: opts.crawlId }, "could not dispatch crawl");
    await finishCrawl(deps.db, {
      crawlId: opts.crawlId,
      runToken: null,
      status: "failed",
      error: "The crawl could not be queued; the queue is unavailable.",
      creditsPer1kTokens: 0,
    }).catch(() => null);
    throw new AppError("SERVICE_BUSY", "The job queue is unavailable; try again shortly.", { retryAfter: 60 });
  }
}
