import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { batches, jobs } from "../schema/index.ts";
import { refundReservations } from "./refund-reservations.ts";
import { UNFINISHED } from "./job-lifecycle.ts";

/**
 * Marks a batch as failed as a whole (it could not be dispatched): every unfinished item is failed
 * with `error` and its reservation refunded. Returns the number of items failed.
 */
export async function failBatch(db: Db, opts: { batchId: string; error: string }): Promise<number> {
  return db.transaction(async (tx) => {
    const [batch] = await tx.select().from(batches).where(eq(batches.id, opts.batchId)).for("update");
    if (!batch) return 0;
    const failed = await tx
      .update(jobs)
      .set({ status: "failed", error: opts.error, finishedAt: sql`now()`, updatedAt: sql`now()` })
      .where(and(eq(jobs.batchId, batch.id), inArray(jobs.status, [...UNFINISHED])))
      .returning({ id: jobs.id, reserved: jobs.creditsReserved });
    await refundReservations(tx, { accountId: batch.accountId, jobs: failed });
    await tx
      .update(batches)
      .set({ state: "failed", finishedAt: sql`now()`, updatedAt: sql`now()` })
      .where(eq(batches.id, batch.id));
    return failed.length;
  });
}
