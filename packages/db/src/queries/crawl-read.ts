import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { crawlPages, crawls, jobs } from "../schema/index.ts";
import type { CrawlPageStatus } from "../schema/index.ts";
import type { JobRow } from "./get-job.ts";
import { isUuid } from "../is-uuid.ts";

export type CrawlRow = typeof crawls.$inferSelect;
export type CrawlPageRow = typeof crawlPages.$inferSelect;
/** A crawl: its lifecycle row (`jobs`) and its settings (`crawls`). */
export interface CrawlJob {
  job: JobRow;
  crawl: CrawlRow;
}

export { isUuid };

/** A crawl by id, optionally only when owned by `accountId`. */
export async function getCrawl(db: Db, crawlId: string, accountId?: string): Promise<CrawlJob | null> {
  if (!isUuid(crawlId)) return null;
  const where = accountId ? and(eq(crawls.id, crawlId), eq(crawls.accountId, accountId)) : eq(crawls.id, crawlId);
  const [row] = await db.select().from(crawls).innerJoin(jobs, eq(jobs.id, crawls.id)).where(where).limit(1);
  return row ? { job: row.jobs, crawl: row.crawls } : null;
}

/** Pages of a crawl in discovery order (depth, then discovery number), optionally by status. */
export async function listCrawlPages(db: Db, crawlId: string, statuses?: CrawlPageStatus[]): Promise<CrawlPageRow[]> {
  const where = statuses
    ? and(eq(crawlPages.crawlId, crawlId), inArray(crawlPages.status, statuses))
    : eq(crawlPages.crawlId, crawlId);
  return db.select().from(crawlPages).where(where).orderBy(asc(crawlPages.depth), asc(crawlPages.orderKey));
}

/** One page of a crawl; a malformed id is not found. */
export async function getCrawlPage(db: Db, crawlId: string, pageId: string): Promise<CrawlPageRow | null> {
  if (!isUuid(pageId)) return null;
  const [row] = await db
    .select()
    .from(crawlPages)
    .where(and(eq(crawlPages.id, pageId), eq(crawlPages.crawlId, crawlId)))
    .limit(1);
  return row ?? null;
}

/** Counters of a crawl, computed from its pages (the single source of truth). */
export interface CrawlCounts {
  /** Pages processed: succeeded or failed. */
  crawled: number;
  succeeded: number;
  failed: number;
  processing: number;
  inputTokens: number;
  outputTokens: number;
  /** Bytes the pages moved through upstream proxies. */
  proxyBytes: number;
}

export async function countCrawlPages(db: Db, crawlId: string): Promise<CrawlCounts> {
  // Token sums leave as float8: a sum over many pages passes 2^31 - 1 (`::int` would fail the query),
  // and node-postgres reads float8 as a number (int8 would come back as a string); exact to 2^53.
  const [row] = await db
    .select({
      succeeded: sql<number>`count(*) filter (where ${crawlPages.status} = 'success')::int`,
      failed: sql<number>`count(*) filter (where ${crawlPages.status} = 'failed')::int`,
      processing: sql<number>`count(*) filter (where ${crawlPages.status} = 'processing')::int`,
      inputTokens: sql<number>`coalesce(sum(${crawlPages.inputTokens}), 0)::float8`,
      outputTokens: sql<number>`coalesce(sum(${crawlPages.outputTokens}), 0)::float8`,
      proxyBytes: sql<number>`coalesce(sum(${crawlPages.proxyBytes}), 0)::float8`,
    })
    .from(crawlPages)
    .where(eq(crawlPages.crawlId, crawlId));
  const succeeded = row?.succeeded ?? 0;
  const failed = row?.failed ?? 0;
  return {
    crawled: succeeded + failed,
    succeeded,
    failed,
    processing: row?.processing ?? 0,
    inputTokens: Number(row?.inputTokens ?? 0),
    outputTokens: Number(row?.outputTokens ?? 0),
    proxyBytes: Number(row?.proxyBytes ?? 0),
  };
}
