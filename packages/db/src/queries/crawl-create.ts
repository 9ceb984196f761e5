import { and, count, eq, inArray, sql } from "drizzle-orm";
import type { Db, Tx } from "../client.ts";
import { crawlPages, crawls, jobs } from "../schema/index.ts";
import { recordIdempotentJob, type IdempotencyEntry } from "./idempotency-keys.ts";
import { debitAccount, insertJobsWithReserves, lockAccount } from "./reserve-jobs.ts";
import { UNFINISHED } from "./job-lifecycle.ts";

/** The crawl's settings as stored (everything of §8.1 except cookies, which are never stored). */
export type CrawlSettings = Omit<
  typeof crawls.$inferInsert,
  "id" | "accountId" | "sourceJobId" | "seededAt" | "notes" | "createdAt"
>;

/** Options for {@link createCrawl}. */
export interface CreateCrawlOptions {
  accountId: string;
  settings: CrawlSettings;
  /** The normalised request kept on the job row (no secrets). */
  request: unknown;
  creditsToReserve: number;
  maxPendingCrawls: number;
  schemaWarnings?: string[];
  /**
   * Makes this an extraction over a completed crawl: its successful pages are copied into the new
   * job's frontier (same stored HTML and Markdown, no browser) and `maxPages` becomes their number.
   */
  sourceJobId?: string;
  /** Refuse when the balance is zero even though nothing is reserved (extractions pay for tokens). */
  requireCredits?: boolean;
  /** The submit's `Idempotency-Key`, recorded for the crawl in its transaction (none by default). */
  idempotency?: IdempotencyEntry;
}

export type CreateCrawlResult =
  { ok: true; crawlId: string } | { ok: false; reason: "TOO_MANY_PENDING_JOBS" | "INSUFFICIENT_CREDITS" };

/**
 * Inserts the crawl (a `jobs` row of kind `crawl` plus its `crawls` row), reserves its credits and
 * records the submit's `Idempotency-Key` in one transaction serialised per account by an advisory lock, so concurrent submits can neither
 * exceed the pending-crawl limit nor overdraw the balance. The frontier is seeded by the worker.
 */
export async function createCrawl(db: Db, opts: CreateCrawlOptions): Promise<CreateCrawlResult> {
  return db.transaction(async (tx) => {
    await lockAccount(tx, opts.accountId);
    const [pending] = await tx
      .select({ n: count() })
      .from(jobs)
      .where(and(eq(jobs.accountId, opts.accountId), eq(jobs.kind, "crawl"), inArray(jobs.status, [...UNFINISHED])));
    if ((pending?.n ?? 0) >= opts.maxPendingCrawls) return { ok: false, reason: "TOO_MANY_PENDING_JOBS" } as const;

    const reserve = opts.creditsToReserve;
    const debited = await debitAccount(tx, opts.accountId, reserve, { keepPositive: opts.requireCredits === true });
    if (!debited) return { ok: false, reason: "INSUFFICIENT_CREDITS" } as const;

    const [crawlId] = await insertJobsWithReserves(tx, [
      {
        accountId: opts.accountId,
        kind: "crawl",
        request: opts.request,
        creditsReserved: reserve,
        schemaWarnings: opts.schemaWarnings,
        progress: {
          status: "queued",
          message: "Waiting in queue",
          progress: 0,
          pagesCrawled: 0,
          maxPages: opts.settings.maxPages,
        },
        dispatched: true,
      },
    ]);
    if (!crawlId) throw new Error("job insert returned nothing");
    await tx.insert(crawls).values({
      ...opts.settings,
      id: crawlId,
      accountId: opts.accountId,
      sourceJobId: opts.sourceJobId ?? null,
      // An extraction copies its pages now: there is nothing to discover.
      seededAt: opts.sourceJobId ? sql`now()` : null,
    });
    if (opts.sourceJobId) await copySourcePages(tx, { crawlId, sourceJobId: opts.sourceJobId });
    if (opts.idempotency)
      await recordIdempotentJob(tx, { accountId: opts.accountId, ...opts.idempotency, jobId: crawlId });
    return { ok: true, crawlId } as const;
  });
}

async function copySourcePages(tx: Tx, opts: { crawlId: string; sourceJobId: string }): Promise<void> {
  const copied = await tx.execute(sql`
    insert into ${crawlPages} (crawl_id, url, url_key, depth, order_key, title, html_key, markdown_key, source_page_id)
    select ${opts.crawlId}, url, url_key, depth, order_key, title, html_key, markdown_key, id
      from ${crawlPages}
     where crawl_id = ${opts.sourceJobId} and status = 'success'`);
  const n = copied.rowCount ?? 0;
  await tx
    .update(crawls)
    .set({ maxPages: Math.max(n, 1) })
    .where(eq(crawls.id, opts.crawlId));
  await tx
    .update(jobs)
    .set({
      progress: { status: "queued", message: "Waiting in queue", progress: 0, pagesCrawled: 0, maxPages: n },
    })
    .where(eq(jobs.id, opts.crawlId));
}
