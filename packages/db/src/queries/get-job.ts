import { and, eq } from "drizzle-orm";
import type { Db } from "../client.ts";
import { jobs } from "../schema/index.ts";
import { isUuid } from "../is-uuid.ts";

export type JobRow = typeof jobs.$inferSelect;

/** A job by id, optionally only when owned by `accountId`; a malformed id is simply not found. */
export async function getJob(db: Db, jobId: string, accountId?: string): Promise<JobRow | null> {
  if (!isUuid(jobId)) return null;
  const where = accountId ? and(eq(jobs.id, jobId), eq(jobs.accountId, accountId)) : eq(jobs.id, jobId);
  const [row] = await db.select().from(jobs).where(where).limit(1);
  return row ?? null;
}
