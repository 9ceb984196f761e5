import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { batches, batchItems, jobs } from "../schema/index.ts";
import { countPendingBatches } from "./create-batch.ts";
import { debitAccount, insertJobsWithReserves, lockAccount } from "./reserve-jobs.ts";
import { isUuid } from "../is-uuid.ts";

export type RetryBatchResult =
  | { ok: true; retriedCount: number; jobIds: string[] }
  | { ok: false; reason: "NOT_FOUND" | "NO_FAILED_ITEMS" | "INSUFFICIENT_CREDITS" | "TOO_MANY_PENDING_JOBS" };

/**
 * Puts every failed item back to pending: each gets a fresh scrape job with a fresh reservation
 * (refused whole when the balance cannot cover them all). The batch becomes active again, so a batch
 * that had finished counts against `maxPendingBatches` as a new one would.
 */
export async function retryBatch(
  db: Db,
  opts: { batchId: string; accountId: string; maxPendingBatches?: number },
): Promise<RetryBatchResult> {
  if (!isUuid(opts.batchId)) return { ok: false, reason: "NOT_FOUND" } as const;
  return db.transaction(async (tx) => {
    await lockAccount(tx, opts.accountId);
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
    if (opts.maxPendingBatches !== undefined) {
      const others = await countPendingBatches(tx, batch.accountId, batch.id);
      // A batch with items still running is pending already: its retry adds no pending batch.
      const itself = (await countPendingBatches(tx, batch.accountId)) > others;
      if (!itself && others >= opts.maxPendingBatches) return { ok: false, reason: "TOO_MANY_PENDING_JOBS" } as const;
    }

    const total = batch.creditsPerItem * failed.length;
    if (!(await debitAccount(tx, batch.accountId, total)))
      return { ok: false, reason: "INSUFFICIENT_CREDITS" } as const;

    // Dispatched by the caller after the commit, as a new batch's items are.
    const jobIds = await insertJobsWithReserves(
      tx,
      failed.map((item) => ({
        accountId: batch.accountId,
        kind: "scrape",
        channel: batch.channel,
        batchId: batch.id,
        request: item.request,
        creditsReserved: batch.creditsPerItem,
        schemaWarnings: batch.schemaWarnings,
        progress: { message: "Waiting in queue", progress: 0 },
        dispatched: false,
      })),
    );
    for (const [i, item] of failed.entries()) {
      await tx
        .update(batchItems)
        .set({ jobId: jobIds[i] as string })
        .where(eq(batchItems.id, item.itemId));
    }
    await tx
      .update(batches)
      .set({ state: "active", finishedAt: null, retriedAt: sql`now()`, updatedAt: sql`now()` })
      .where(eq(batches.id, batch.id));
    return { ok: true, retriedCount: failed.length, jobIds } as const;
  });
}
