import { schema } from "@orbweaver/db";
import type { TestStack } from "./stack.ts";

export type NewJob = typeof schema.jobs.$inferInsert;

/** A scrape job row of one URL, completed and charged 2 credits unless `extra` says otherwise. */
export const scrapeRow = (url: string, extra: Partial<NewJob> = {}): Omit<NewJob, "accountId"> => ({
  kind: "scrape",
  status: "completed",
  request: { urls: [{ url }] },
  creditsUsed: 2,
  creditsReserved: 2,
  ...extra,
});

/** A fresh account (100 credits) with these job rows written straight into Postgres (`accountId` filled in). */
export async function accountWith(stack: TestStack, rows: Array<Omit<NewJob, "accountId">>) {
  const { key, accountId } = await stack.createKey(100);
  const ids =
    rows.length === 0
      ? []
      : (
          await stack.db
            .insert(schema.jobs)
            .values(rows.map((r) => ({ ...r, accountId })))
            .returning({ id: schema.jobs.id })
        ).map((r) => r.id);
  return { key, accountId, ids };
}

/** A job's status, attempts and credits used, as Postgres holds them. */
export async function jobRow(stack: TestStack, jobId: string) {
  const { rows } = await stack.pool.query<{ status: string; attempts: number; credits_used: number }>(
    "select status, attempts, credits_used::float as credits_used from jobs where id = $1",
    [jobId],
  );
  return rows[0];
}

/** A job's credit ledger entries, oldest first. */
export async function ledgerOf(stack: TestStack, jobId: string) {
  const { rows } = await stack.pool.query<{ reason: string; delta: number }>(
    "select reason, delta::float as delta from credit_ledger where job_id = $1 order by id",
    [jobId],
  );
  return rows;
}
