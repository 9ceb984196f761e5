import { sql } from "drizzle-orm";
import type { Db } from "../client.ts";

/**
 * Marks up to (`concurrency` − items in flight) undispatched waiting items of a batch as dispatched
 * and returns their job ids for the caller to enqueue. Row locks with SKIP LOCKED make concurrent
 * callers (workers finishing items at once, the reconciler) hand out each item once.
 */
export async function claimBatchDispatch(db: Db, opts: { batchId: string; concurrency: number }): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${opts.batchId}::text, 1))`);
    const inflight = await tx.execute<{ n: number }>(sql`
      select count(*)::int as n from jobs
      where batch_id = ${opts.batchId} and dispatched_at is not null and status in ('waiting','delayed','active')`);
    const free = opts.concurrency - (inflight.rows[0]?.n ?? 0);
    if (free <= 0) return [];
    const claimed = await tx.execute<{ id: string }>(sql`
      update jobs set dispatched_at = now(), updated_at = now()
      where id in (
        select j.id from jobs j join batch_items i on i.job_id = j.id
        where j.batch_id = ${opts.batchId} and j.status = 'waiting' and j.dispatched_at is null
        order by i.position
        limit ${free}
        for update of j skip locked)
      returning id`);
    return claimed.rows.map((r) => r.id);
  });
}

/** Active batches that have undispatched items, for the reconciler to top up. */
export async function listBatchesAwaitingDispatch(db: Db, limit = 100): Promise<string[]> {
  const rows = await db.execute<{ batch_id: string }>(sql`
    select distinct j.batch_id from jobs j join batches b on b.id = j.batch_id
    where b.state = 'active' and j.status = 'waiting' and j.dispatched_at is null
    limit ${limit}`);
  return rows.rows.map((r) => r.batch_id);
}
