import { and, asc, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { batches, batchItems, jobs } from "../schema/index.ts";
import type { ItemCounts } from "./batch-status.ts";
import { isUuid } from "../is-uuid.ts";

export type BatchRow = typeof batches.$inferSelect;
export type BatchItemWithJob = {
  item: typeof batchItems.$inferSelect;
  job: typeof jobs.$inferSelect;
};

/** A batch of the account with its items and their current jobs, in submission order. */
export async function getBatch(
  db: Db,
  opts: { batchId: string; accountId: string },
): Promise<{ batch: BatchRow; items: BatchItemWithJob[] } | null> {
  if (!isUuid(opts.batchId)) return null;
  const [batch] = await db
    .select()
    .from(batches)
    .where(and(eq(batches.id, opts.batchId), eq(batches.accountId, opts.accountId)));
  if (!batch) return null;
  const items = await db
    .select({ item: batchItems, job: jobs })
    .from(batchItems)
    .innerJoin(jobs, eq(jobs.id, batchItems.jobId))
    .where(eq(batchItems.batchId, batch.id))
    .orderBy(asc(batchItems.position));
  return { batch, items };
}

const countsSql = {
  total: sql<number>`count(*)::int`,
  pending: sql<number>`count(*) filter (where ${jobs.status} in ('waiting','delayed'))::int`,
  running: sql<number>`count(*) filter (where ${jobs.status} = 'active')::int`,
  completed: sql<number>`count(*) filter (where ${jobs.status} = 'completed')::int`,
  failed: sql<number>`count(*) filter (where ${jobs.status} = 'failed')::int`,
  cancelled: sql<number>`count(*) filter (where ${jobs.status} = 'cancelled')::int`,
  lastFinishedAt: sql<Date | null>`max(${jobs.finishedAt})`,
};

/** One page of the account's batches, newest first, with item counts from one grouped query. */
export async function listBatches(
  db: Db,
  opts: { accountId: string; page: number; limit: number },
): Promise<{ rows: Array<{ batch: BatchRow; counts: ItemCounts; lastFinishedAt: Date | null }>; total: number }> {
  const [totalRow] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(batches)
    .where(eq(batches.accountId, opts.accountId));
  const page = await db
    .select()
    .from(batches)
    .where(eq(batches.accountId, opts.accountId))
    .orderBy(desc(batches.createdAt), desc(batches.id))
    .limit(opts.limit)
    .offset((opts.page - 1) * opts.limit);
  if (page.length === 0) return { rows: [], total: totalRow?.n ?? 0 };
  const counts = await db
    .select({ batchId: batchItems.batchId, ...countsSql })
    .from(batchItems)
    .innerJoin(jobs, eq(jobs.id, batchItems.jobId))
    .where(
      sql`${batchItems.batchId} in (${sql.join(
        page.map((b) => sql`${b.id}`),
        sql`, `,
      )})`,
    )
    .groupBy(batchItems.batchId);
  const byId = new Map(counts.map((c) => [c.batchId, c]));
  return {
    total: totalRow?.n ?? 0,
    rows: page.map((batch) => {
      const c = byId.get(batch.id);
      return {
        batch,
        counts: {
          total: c?.total ?? 0,
          pending: c?.pending ?? 0,
          running: c?.running ?? 0,
          completed: c?.completed ?? 0,
          failed: c?.failed ?? 0,
          cancelled: c?.cancelled ?? 0,
        },
        lastFinishedAt: c?.lastFinishedAt ? new Date(c.lastFinishedAt) : null,
      };
    }),
  };
}
