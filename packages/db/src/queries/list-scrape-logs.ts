import { and, desc, eq, gte, ilike, inArray, lt, or, sql, type SQL } from "drizzle-orm";
import type { Db } from "../client.ts";
import { jobs } from "../schema/index.ts";
import type { JobStatus } from "../schema/index.ts";
import type { JobRow } from "./get-job.ts";
import { UNFINISHED } from "./job-lifecycle.ts";

/** Log status of §9: success | error | in_progress (D29: `failed` is read as `error`). */
export type LogStatus = "success" | "error" | "in_progress";

export const LOG_STATUS_JOB_STATES: Record<LogStatus, JobStatus[]> = {
  success: ["completed"],
  error: ["failed", "cancelled"],
  in_progress: [...UNFINISHED],
};

export interface ListScrapeLogsOptions {
  accountId: string;
  page: number;
  limit: number;
  status?: LogStatus;
  /** Substring of a URL or of the prompt, case-insensitive. */
  searchTerm?: string;
  channel?: string;
  /** Inclusive UTC days, YYYY-MM-DD. */
  dateStart?: string;
  dateEnd?: string;
}

/** One page of the account's scrape jobs as logs, newest first, with the total matching the filters. */
export async function listScrapeLogs(db: Db, opts: ListScrapeLogsOptions): Promise<{ rows: JobRow[]; total: number }> {
  const conditions: SQL[] = [eq(jobs.accountId, opts.accountId), eq(jobs.kind, "scrape")];
  if (opts.status) conditions.push(inArray(jobs.status, LOG_STATUS_JOB_STATES[opts.status]));
  if (opts.channel) conditions.push(eq(jobs.channel, opts.channel));
  // UTC days whatever the database's time zone, as the usage statistics count them.
  if (opts.dateStart)
    conditions.push(gte(jobs.createdAt, sql`(${opts.dateStart}::date)::timestamp at time zone 'utc'`));
  if (opts.dateEnd) conditions.push(lt(jobs.createdAt, sql`(${opts.dateEnd}::date + 1)::timestamp at time zone 'utc'`));
  if (opts.searchTerm) {
    const pattern = `%${opts.searchTerm.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    // The URLs themselves, not the JSON around them (its keys and actions would match "url" or "click").
    const urls = sql`case when jsonb_typeof(${jobs.request} -> 'urls') = 'array' then ${jobs.request} -> 'urls' else '[]'::jsonb end`;
    const search = or(
      sql`exists (select 1 from jsonb_array_elements(${urls}) as u(v)
                   where (case when jsonb_typeof(u.v) = 'string' then u.v #>> '{}' else u.v ->> 'url' end) ilike ${pattern})`,
      ilike(sql`coalesce(${jobs.request} ->> 'prompt', '')`, pattern),
    );
    if (search) conditions.push(search);
  }
  const where = and(...conditions);
  const [count] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(jobs)
    .where(where);
  const rows = await db
    .select()
    .from(jobs)
    .where(where)
    .orderBy(desc(jobs.createdAt), desc(jobs.id))
    .limit(opts.limit)
    .offset((opts.page - 1) * opts.limit);
  return { rows, total: count?.n ?? 0 };
}
