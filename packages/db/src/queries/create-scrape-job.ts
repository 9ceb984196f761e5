import { and, count, eq, gte, inArray, isNull, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { accounts, creditLedger, jobs } from "../schema/index.ts";

/** Options for {@link createScrapeJob}. */
export interface CreateScrapeJobOptions {
  accountId: string;
  request: unknown;
  creditsToReserve: number;
  maxPendingJobs: number;
  schemaWarnings?: string[];
  channel?: string;
}

export type CreateScrapeJobResult =
  { ok: true; jobId: string } | { ok: false; reason: "TOO_MANY_PENDING_JOBS" | "INSUFFICIENT_CREDITS" };

/**
 * Inserts the job and reserves its credits in one transaction, serialised per account by an advisory
 * lock, so concurrent submits can neither exceed the pending-job limit nor overdraw the balance.
 */
export async function createScrapeJob(db: Db, opts: CreateScrapeJobOptions): Promise<CreateScrapeJobResult> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${opts.accountId}, 0))`);
    const [pending] = await tx
      .select({ n: count() })
      .from(jobs)
      .where(
        and(
          eq(jobs.accountId, opts.accountId),
          eq(jobs.kind, "scrape"),
          isNull(jobs.batchId),
          inArray(jobs.status, ["waiting", "delayed", "active"]),
        ),
      );
    if ((pending?.n ?? 0) >= opts.maxPendingJobs) return { ok: false, reason: "TOO_MANY_PENDING_JOBS" } as const;

    const reserve = opts.creditsToReserve;
    const [debited] = await tx
      .update(accounts)
      .set({ creditsBalance: sql`${accounts.creditsBalance} - ${reserve}` })
      .where(and(eq(accounts.id, opts.accountId), gte(accounts.creditsBalance, reserve)))
      .returning({ id: accounts.id });
    if (!debited) return { ok: false, reason: "INSUFFICIENT_CREDITS" } as const;

    const [job] = await tx
      .insert(jobs)
      .values({
        accountId: opts.accountId,
        kind: "scrape",
        channel: opts.channel ?? "api",
        request: opts.request,
        creditsReserved: reserve,
        schemaWarnings: opts.schemaWarnings && opts.schemaWarnings.length > 0 ? opts.schemaWarnings : null,
        progress: { message: "Waiting in queue", progress: 0 },
        dispatchedAt: sql`now()`,
      })
      .returning({ id: jobs.id });
    if (!job) throw new Error("job insert returned nothing");
    if (reserve !== 0) {
      await tx
        .insert(creditLedger)
        .values({ accountId: opts.accountId, delta: -reserve, reason: "reserve", jobId: job.id });
    }
    return { ok: true, jobId: job.id } as const;
  });
}
