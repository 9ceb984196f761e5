import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { crawlPages, jobs } from "../schema/index.ts";
import { chargeUpTo } from "./ledger-moves.ts";

/**
 * Stores a page's re-extraction (POST /crawl/{id}/retry/{pageId}) and charges its model tokens in
 * one transaction, as far as the balance goes. The charge is added to the crawl's `credits_used`,
 * so the account's ledger still balances against its jobs, and the tokens to the crawl's stats. A failed extraction keeps the page's
 * previous data but its tokens are still charged (the model was called).
 */
export async function saveCrawlPageRetry(
  db: Db,
  opts: {
    crawlId: string;
    pageId: string;
    accountId: string;
    data: unknown;
    keepPreviousData: boolean;
    inputTokens: number;
    outputTokens: number;
    charge: number;
  },
): Promise<{ creditsUsed: number }> {
  return db.transaction(async (tx) => {
    await tx
      .update(crawlPages)
      .set({
        ...(opts.keepPreviousData ? {} : { data: opts.data ?? null, aiExtractionFailed: false }),
        inputTokens: sql`${crawlPages.inputTokens} + ${opts.inputTokens}`,
        outputTokens: sql`${crawlPages.outputTokens} + ${opts.outputTokens}`,
        updatedAt: sql`now()`,
      })
      .where(and(eq(crawlPages.id, opts.pageId), eq(crawlPages.crawlId, opts.crawlId)));
    // No job id on the entry: a page may be retried many times, and (job_id, reason) is unique per job.
    const amount =
      opts.charge > 0
        ? await chargeUpTo(tx, {
            accountId: opts.accountId,
            jobId: null,
            amount: opts.charge,
            note: `crawl ${opts.crawlId} page ${opts.pageId} re-extraction`,
          })
        : 0;
    // The crawl's tokens and credits include its pages' re-extractions (usage statistics sum them).
    const tokens = opts.inputTokens + opts.outputTokens;
    if (tokens > 0 || amount > 0) {
      await tx
        .update(jobs)
        .set({
          stats: sql`coalesce(${jobs.stats}, '{}'::jsonb) || jsonb_build_object(
            'inputTokens', coalesce((${jobs.stats} ->> 'inputTokens')::bigint, 0) + ${opts.inputTokens}::bigint,
            'outputTokens', coalesce((${jobs.stats} ->> 'outputTokens')::bigint, 0) + ${opts.outputTokens}::bigint,
            'totalTokens', coalesce((${jobs.stats} ->> 'totalTokens')::bigint, 0) + ${tokens}::bigint)`,
          creditsUsed: sql`${jobs.creditsUsed} + ${amount}`,
          updatedAt: sql`now()`,
        })
        .where(eq(jobs.id, opts.crawlId));
    }
    return { creditsUsed: amount };
  });
}
