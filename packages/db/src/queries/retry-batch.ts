import { and, eq, gte, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { accounts, batches, batchItems, creditLedger, jobs } from "../schema/index.ts";
import { isUuid } from "../is-uuid.ts";

export type RetryBatchResult =
  | { ok: true; retriedCount: number; jobIds: string[] }
  | { ok: false; reason: "NOT_FOUND" | "NO_FAILED_ITEMS" | "INSUFFICIENT_CREDITS" };

/**
 * Puts every failed item back to pending: each gets a fresh scrape job with a fresh reservation
 * (refused whole when the balance cannot cover them all). The batch becomes active again.
 */
export async function retryBatch(db: Db, opts: { batchId: string; accountId: string }): Promise<RetryBatchResult> {
  if (!isUuid(opts.batchId)) return { ok: false, reason: "NOT_FOUND" } as const;
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${opts.accountId}, 0))`);
    const [batch] = await tx
      .select()
      .from(batches)
      .where(and(eq(batches.id, opts.batchId), eq(batches.accountId, opts.accountId)))
      .for("update");
    if (!batch) return { ok: false, reason: "NOT_FOUND" } as const;
    const failed = await tx
      .select({ itemId: batchItems.id, url: batchItems.url, request: jobs.request })
      .from(batchItems)
      .innerJoin(jobs, eq(jobs.id, batchItems.jobId))
      .where(and(eq(batchItems.batchId, batch.id), eq(jobs.status, "failed")));
    if (failed.length === 0) return { ok: false, reason: "NO_FAILED_ITEMS" } as const;

    const total = batch.creditsPerItem * failed.length;
    const [debited] = await tx
      .update(accounts)
      .set({ creditsBalance: sql`${accounts.creditsBalance} - ${total}` })
      .where(and(eq(accounts.id, batch.accountId), gte(accounts.creditsBalance, total)))
      .returning({ id: accounts.id });
    if (!debited) return { ok: false, reason: "INSUFFICIENT_CREDITS" } as const;

    const jobIds: string[] = [];
    for (const item of failed) {
      const [job] = await tx
        .insert(jobs)
        .values({
          accountId: batch.accountId,
          kind: "scrape",
          channel: batch.channel,
          batchId: batch.id,
          request: item.request,
          creditsReserved: batch.creditsPerItem,
          schemaWarnings: batch.schemaWarnings,
          progress: { message: "Waiting in queue", progress: 0 },
        })
        .returning({ id: jobs.id });
      if (!job) throw new Error("job insert returned nothing");
      jobIds.push(job.id);
      if (batch.creditsPerItem !== 0) {
        await tx
          .insert(creditLedger)
          .values({ accountId: batch.accountId, delta: -batch.creditsPerItem, reason: "reserve", jobId: job.id });
      }
      await tx.update(batchItems).set({ jobId: job.id }).where(eq(batchItems.id, item.itemId));
    }
    await tx
      .update(batches)
      .set({ state: "active", finishedAt: null, updatedAt: sql`now()` })
      .where(eq(batches.id, batch.id));
    return { ok: true, retriedCount: failed.length, jobIds } as const;
  });
}
