import { sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { FINISHED as FINISHED_STATUSES } from "./job-lifecycle.ts";

/** How many of each were deleted by {@link pruneFinishedWork}. */
export interface PrunedWork {
  scrapes: number;
  batches: number;
  crawls: number;
}

const FINISHED = sql`(${sql.join(
  FINISHED_STATUSES.map((s) => sql`${s}`),
  sql`, `,
)})`;

/**
 * Deletes work that finished, and was last touched, before `before` (JOB_RETENTION_MS): single
 * scrapes (their results and scrape logs), batches none of whose items is unfinished or recent
 * (with their items' jobs), and crawls (with their pages), in chunks of `chunk` rows, each one
 * statement or one short transaction, so a large backlog never holds locks for long. Unfinished
 * work is never touched, whatever its age. The credit ledger is kept, so balances and their history
 * stay whole; stored files go by their own retention (BLOB_RETENTION_MS).
 */
export async function pruneFinishedWork(db: Db, opts: { before: Date; chunk?: number }): Promise<PrunedWork> {
  const chunk = opts.chunk ?? 500;
  const before = opts.before.toISOString();
  const pruned: PrunedWork = { scrapes: 0, batches: 0, crawls: 0 };
  // A crawl's rows (crawls, crawl_pages) go with its job row (ON DELETE CASCADE).
  for (const kind of ["scrape", "crawl"] as const) {
    for (;;) {
      const gone = await db.execute(sql`
        delete from jobs where id in (
          select id from jobs
           where kind = ${kind} and batch_id is null and status in ${FINISHED}
             and updated_at < ${before} and finished_at < ${before}
           limit ${chunk})`);
      const n = gone.rowCount ?? 0;
      pruned[kind === "scrape" ? "scrapes" : "crawls"] += n;
      if (n < chunk) break;
    }
  }
  for (;;) {
    const n = await db.transaction(async (tx) => {
      // Locked, so a retry (which reopens a batch) waits for this or finds it gone.
      const picked = await tx.execute<{ id: string }>(sql`
        select b.id from batches b
         where b.updated_at < ${before} and coalesce(b.finished_at, b.created_at) < ${before}
           and not exists (select 1 from jobs j
                            where j.batch_id = b.id
                              and (j.status not in ${FINISHED} or j.finished_at >= ${before} or j.updated_at >= ${before}))
         limit ${chunk}
         for update of b skip locked`);
      const ids = picked.rows.map((r) => r.id);
      if (ids.length === 0) return 0;
      const list = sql`array[${sql.join(
        ids.map((id) => sql`${id}`),
        sql`, `,
      )}]::uuid[]`;
      // Items first: they reference their jobs.
      await tx.execute(sql`delete from batch_items where batch_id = any(${list})`);
      await tx.execute(sql`delete from jobs where batch_id = any(${list})`);
      await tx.execute(sql`delete from batches where id = any(${list})`);
      return ids.length;
    });
    pruned.batches += n;
    if (n < chunk) break;
  }
  return pruned;
}
