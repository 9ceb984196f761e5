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
