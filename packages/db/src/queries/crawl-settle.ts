import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db, Tx } from "../client.ts";
import { crawlPages, crawls, jobs } from "../schema/index.ts";
import type { JobRow } from "./get-job.ts";
import { UNFINISHED } from "./job-lifecycle.ts";
import { addCreditsUsed, chargeUpTo, moveCredits } from "./ledger-moves.ts";

/** What a crawl cost once settled. */
export interface CrawlSettlement {
  pagesCrawled: number;
  pagesSucceeded: number;
  creditsUsed: number;
  inputTokens: number;
  outputTokens: number;
}

/**
 * Ends a crawl (completed or failed) and settles its credits in one transaction: successful pages
 * are charged at the price fixed at submit, the rest of the reservation is refunded, model tokens
 * are charged on top as far as the balance goes; a failed crawl is charged nothing. Refused (null)
 * when `runToken` no longer owns it or it is already terminal, so nothing is settled twice.
 * `runToken: null` settles whatever attempt owns it (the reconciler giving up, a failed dispatch).
 */
export async function finishCrawl(
  db: Db,
  opts: {
    crawlId: string;
    runToken: string | null;
    status: "completed" | "failed";
    error?: string;
    creditsPer1kTokens: number;
  },
): Promise<CrawlSettlement | null> {
  return db.transaction(async (tx) => {
    const owner = opts.runToken === null ? undefined : eq(jobs.runToken, opts.runToken);
    const [job] = await tx
      .select()
      .from(jobs)
      .where(and(eq(jobs.id, opts.crawlId), inArray(jobs.status, [...UNFINISHED]), owner))
      .for("update");
    if (!job) return null;
    return settle(tx, job, opts);
  });
}

export type CancelCrawlResult =
  ({ ok: true } & CrawlSettlement) | { ok: false; reason: "NOT_FOUND" | "ALREADY_TERMINAL"; status?: string };

/**
 * Cancels a crawl: processed pages are kept and billed, pages not processed yet (a page in flight
 * included) are dropped and cost nothing; the rest of the reservation is refunded.
 */
export async function cancelCrawl(
  db: Db,
  opts: { crawlId: string; accountId: string; creditsPer1kTokens: number },
): Promise<CancelCrawlResult> {
  return db.transaction(async (tx) => {
    const [job] = await tx
      .select()
      .from(jobs)
      .where(and(eq(jobs.id, opts.crawlId), eq(jobs.accountId, opts.accountId), eq(jobs.kind, "crawl")))
      .for("update");
    if (!job) return { ok: false, reason: "NOT_FOUND" } as const;
    if (!(UNFINISHED as readonly string[]).includes(job.status)) {
      return { ok: false, reason: "ALREADY_TERMINAL", status: job.status } as const;
    }
    const settled = await settle(tx, job, { status: "cancelled", creditsPer1kTokens: opts.creditsPer1kTokens });
    return { ok: true, ...settled } as const;
  });
}

async function settle(
  tx: Tx,
  job: JobRow,
  opts: { status: "completed" | "failed" | "cancelled"; error?: string; creditsPer1kTokens: number },
): Promise<CrawlSettlement> {
  // Pages not processed by now never will be: they leave the frontier.
  await tx
    .update(crawlPages)
    .set({ status: "skipped", runToken: null, updatedAt: sql`now()` })
    .where(and(eq(crawlPages.crawlId, job.id), inArray(crawlPages.status, ["queued", "processing"])));
  // Token sums as float8: over many pages they pass 2^31 - 1, which `::int` refused (the settle failed).
  const [counts] = await tx
    .select({
      succeeded: sql<number>`count(*) filter (where ${crawlPages.status} = 'success')::int`,
      failed: sql<number>`count(*) filter (where ${crawlPages.status} = 'failed')::int`,
      inputTokens: sql<number>`coalesce(sum(${crawlPages.inputTokens}), 0)::float8`,
      outputTokens: sql<number>`coalesce(sum(${crawlPages.outputTokens}), 0)::float8`,
      linkChoiceTokens: sql<number>`coalesce(sum(${crawlPages.linkChoiceTokens}), 0)::float8`,
      proxyBytes: sql<number>`coalesce(sum(${crawlPages.proxyBytes}), 0)::float8`,
    })
    .from(crawlPages)
    .where(eq(crawlPages.crawlId, job.id));
  const [crawl] = await tx
    .select({ price: crawls.creditsPerPage, maxPages: crawls.maxPages })
    .from(crawls)
    .where(eq(crawls.id, job.id));
  const succeeded = counts?.succeeded ?? 0;
  const crawled = succeeded + (counts?.failed ?? 0);
  const inputTokens = Number(counts?.inputTokens ?? 0);
  const outputTokens = Number(counts?.outputTokens ?? 0);
  const billed = opts.status !== "failed";
  const pageCharge = billed ? Math.min(succeeded * (crawl?.price ?? 0), job.creditsReserved) : 0;
  const durationMs = job.startedAt ? Date.now() - new Date(job.startedAt).getTime() : 0;
  const finalMessage =
    opts.status === "completed" ? "Crawl complete" : opts.status === "cancelled" ? "Crawl cancelled" : "Crawl failed";
  await tx
    .update(jobs)
    .set({
      status: opts.status,
      error: opts.status === "failed" ? (opts.error ?? "Crawl failed") : null,
      result: null,
      stats: {
        durationMs,
        captchaSolvedCount: 0,
        inputTokens,
        outputTokens,
        totalTokens: inputTokens + outputTokens,
        pagesCrawled: crawled,
        // Bytes through upstream proxies, summed per account by the usage statistics.
        proxyBytes: Number(counts?.proxyBytes ?? 0),
      },
      creditsUsed: sql`${jobs.creditsUsed} + ${pageCharge}`,
      progress: {
        status: opts.status,
        message: finalMessage,
        progress: 1,
        pagesCrawled: crawled,
        maxPages: crawl?.maxPages ?? crawled,
      },
      finishedAt: sql`now()`,
      updatedAt: sql`now()`,
    })
    .where(eq(jobs.id, job.id));
  const refund = job.creditsReserved - pageCharge;
  if (refund > 0) await moveCredits(tx, { accountId: job.accountId, jobId: job.id, delta: refund, reason: "refund" });
  let tokenCharge = 0;
  // Extraction is charged; choosing links is not (no token charge without transformInstruction or schema).
  const tokens = Math.max(0, inputTokens + outputTokens - Number(counts?.linkChoiceTokens ?? 0));
  if (billed && tokens > 0 && opts.creditsPer1kTokens > 0) {
    const wanted = Math.round((tokens / 1000) * opts.creditsPer1kTokens * 10_000) / 10_000;
    tokenCharge = await chargeUpTo(tx, {
      accountId: job.accountId,
      jobId: job.id,
      amount: wanted,
      note: "model tokens",
    });
    if (tokenCharge > 0) await addCreditsUsed(tx, job.id, tokenCharge);
  }
  return {
    pagesCrawled: crawled,
    pagesSucceeded: succeeded,
    creditsUsed: job.creditsUsed + pageCharge + tokenCharge,
    inputTokens,
    outputTokens,
  };
}
