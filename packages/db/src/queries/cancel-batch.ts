import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { batches, jobs } from "../schema/index.ts";
import { refundReservations } from "./refund-reservations.ts";
import { deriveBatchStatus, itemStatusOf, type ItemCounts } from "./batch-status.ts";
import { isUuid } from "../is-uuid.ts";
import { cancelledBeforeRun } from "./job-lifecycle.ts";

export type CancelBatchResult =
  | { ok: true; cancelledItems: number; creditsRefunded: number; cancelledJobIds: string[] }
  | { ok: false; reason: "NOT_FOUND" | "ALREADY_TERMINAL"; status?: string };

/**
 * Cancels a batch: items not started yet are cancelled and their reservations refunded; running
 * items finish and are billed. A batch already completed, failed or cancelled is refused.
 */
export async function cancelBatch(db: Db, opts: { batchId: string; accountId: string }): Promise<CancelBatchResult> {
  if (!isUuid(opts.batchId)) return { ok: false, reason: "NOT_FOUND" } as const;
  return db.transaction(async (tx) => {
    const [batch] = await tx
      .select()
      .from(batches)
      .where(and(eq(batches.id, opts.batchId), eq(batches.accountId, opts.accountId)))
      .for("update");
    if (!batch) return { ok: false, reason: "NOT_FOUND" } as const;
    const itemJobs = await tx.select({ status: jobs.status }).from(jobs).where(eq(jobs.batchId, batch.id));
    const status = deriveBatchStatus(batch, countItems(itemJobs.map((j) => j.status)));
    if (status === "completed" || status === "failed" || status === "cancelled") {
      return { ok: false, reason: "ALREADY_TERMINAL", status } as const;
    }
    const cancelled = await tx
      .update(jobs)
      .set(cancelledBeforeRun())
      .where(and(eq(jobs.batchId, batch.id), inArray(jobs.status, ["waiting", "delayed"])))
      .returning({ id: jobs.id, reserved: jobs.creditsReserved });
    const refunded = await refundReservations(tx, { accountId: batch.accountId, jobs: cancelled });
    await tx
      .update(batches)
      .set({ state: "cancelled", finishedAt: sql`now()`, updatedAt: sql`now()` })
      .where(eq(batches.id, batch.id));
    return {
      ok: true,
      cancelledItems: cancelled.length,
      creditsRefunded: refunded,
      cancelledJobIds: cancelled.map((j) => j.id),
    } as const;
  });
}

export function countItems(jobStatuses: string[]): ItemCounts {
  const counts: ItemCounts = {
    total: jobStatuses.length,
    pending: 0,
    running: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
  };
  for (const s of jobStatuses) counts[itemStatusOf(s)] += 1;
  return counts;
}
