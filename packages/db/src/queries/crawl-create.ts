import { and, count, eq, gt, gte, inArray, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { accounts, crawlPages, crawls, creditLedger, jobs } from "../schema/index.ts";

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
}

export type CreateCrawlResult =
  { ok: true; crawlId: string } | { ok: false; reason: "TOO_MANY_PENDING_JOBS" | "INSUFFICIENT_CREDITS" };

/**
 * Inserts the crawl (a `jobs` row of kind `crawl` plus its `crawls` row) and reserves its credits
 * in one transaction serialised per account by an advisory lock, so concurrent submits can neither
 * exceed the pending-crawl limit nor overdraw the balance. The frontier is seeded by the worker.
 */
export async function createCrawl(db: Db, opts: CreateCrawlOptions): Promise<CreateCrawlResult> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${opts.accountId}, 0))`);
    const [pending] = await tx
      .select({ n: count() })
      .from(jobs)
      .where(
        and(
          eq(jobs.accountId, opts.accountId),
          eq(jobs.kind, "crawl"),
          inArray(jobs.status, ["waiting", "delayed", "active"]),
        ),
      );
    if ((pending?.n ?? 0) >= opts.maxPendingCrawls) return { ok: false, reason: "TOO_MANY_PENDING_JOBS" } as const;

    const reserve = opts.creditsToReserve;
    const [debited] = await tx
      .update(accounts)
      .set({ creditsBalance: sql`${accounts.creditsBalance} - ${reserve}` })
      .where(
        and(
          eq(accounts.id, opts.accountId),
          opts.requireCredits ? gt(accounts.creditsBalance, reserve) : gte(accounts.creditsBalance, reserve),
        ),
      )
      .returning({ id: accounts.id });
    if (!debited) return { ok: false, reason: "INSUFFICIENT_CREDITS" } as const;

    const [job] = await tx
      .insert(jobs)
      .values({
        accountId: opts.accountId,
        kind: "crawl",
        request: opts.request,
        creditsReserved: reserve,
        schemaWarnings: opts.schemaWarnings && opts.schemaWarnings.length > 0 ? opts.schemaWarnings : null,
        progress: {
          status: "queued",
          message: "Waiting in queue",
          progress: 0,
          pagesCrawled: 0,
          maxPages: opts.settings.maxPages,
        },
        dispatchedAt: sql`now()`,
      })
      .returning({ id: jobs.id });
    if (!job) throw new Error("job insert returned nothing");
    await tx.insert(crawls).values({
      ...opts.settings,
      id: job.id,
      accountId: opts.accountId,
      sourceJobId: opts.sourceJobId ?? null,
      // An extraction copies its pages now: there is nothing to discover.
      seededAt: opts.sourceJobId ? sql`now()` : null,
    });
    if (opts.sourceJobId) await copySourcePages(tx, { crawlId: job.id, sourceJobId: opts.sourceJobId });
    if (reserve !== 0) {
      await tx
        .insert(creditLedger)
        .values({ accountId: opts.accountId, delta: -reserve, reason: "reserve", jobId: job.id });
    }
    return { ok: true, crawlId: job.id } as const;
  });
}

type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

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
