import { count, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { crawlPages, crawls, jobs } from "../schema/index.ts";
import type { CrawlJob } from "./crawl-read.ts";

/** A crawl with its counters, as listed by the history. */
export interface CrawlHistoryRow extends CrawlJob {
  pagesCrawled: number;
  inputTokens: number;
  outputTokens: number;
  /** Bytes the crawl's pages moved through upstream proxies. */
  proxyBytes: number;
}

/** One page of the account's crawls (extractions included), newest first, with the total. */
export async function listCrawlHistory(
  db: Db,
  opts: { accountId: string; page: number; limit: number },
): Promise<{ rows: CrawlHistoryRow[]; total: number }> {
  const total = await countCrawls(db, opts.accountId);
  // Token sums as float8, as in countCrawlPages: past 2^31 - 1 over many pages, still a JS number.
  const rows = await db
    .select({
      job: jobs,
      crawl: crawls,
      pagesCrawled: sql<number>`(select count(*)::int from ${crawlPages} p where p.crawl_id = ${crawls.id} and p.status in ('success', 'failed'))`,
      inputTokens: sql<number>`(select coalesce(sum(p.input_tokens), 0)::float8 from ${crawlPages} p where p.crawl_id = ${crawls.id})`,
      outputTokens: sql<number>`(select coalesce(sum(p.output_tokens), 0)::float8 from ${crawlPages} p where p.crawl_id = ${crawls.id})`,
      proxyBytes: sql<number>`(select coalesce(sum(p.proxy_bytes), 0)::float8 from ${crawlPages} p where p.crawl_id = ${crawls.id})`,
    })
    .from(crawls)
    .innerJoin(jobs, eq(jobs.id, crawls.id))
    .where(eq(crawls.accountId, opts.accountId))
    .orderBy(desc(crawls.createdAt), desc(crawls.id))
    .limit(opts.limit)
    .offset((opts.page - 1) * opts.limit);
  return {
    rows: rows.map((r) => ({
      ...r,
      inputTokens: Number(r.inputTokens),
      outputTokens: Number(r.outputTokens),
      proxyBytes: Number(r.proxyBytes),
    })),
    total,
  };
}

/** Number of crawls the account ever submitted (GET /crawl/stats). */
export async function countCrawls(db: Db, accountId: string): Promise<number> {
  const [row] = await db.select({ n: count() }).from(crawls).where(eq(crawls.accountId, accountId));
  return row?.n ?? 0;
}
