import { sql } from "drizzle-orm";
import type { Db } from "../client.ts";

export type UsageRange = "7d" | "30d" | "weekly";

export interface UsageBucket {
  /** Start of the UTC day or ISO week (Monday). */
  start: Date;
  requests: number;
  crawls: number;
  tokens: number;
  captchas: number;
  latency: number;
  credits: number;
  /** Bytes moved through upstream proxies (`useProxy`) by the scrapes and crawls of the bucket. */
  proxyBytes: number;
}

/**
 * Usage per UTC day (7d, 30d) or per week (weekly: the last 7 weeks), every bucket present even
 * when empty, computed by one aggregate query over the account's jobs. Proxy bytes come from each
 * finished job's stats (a crawl's are summed over its pages when it settles). Sums are bigint inside
 * the query and leave as float8 (a JS number, exact to 2^53), never `::int`, which fails past 2^31 - 1.
 */
export async function getUsageStats(db: Db, opts: { accountId: string; range: UsageRange }): Promise<UsageBucket[]> {
  const unit = opts.range === "weekly" ? "week" : "day";
  const buckets = opts.range === "7d" ? 7 : opts.range === "30d" ? 30 : 7;
  const result = await db.execute<{
    start: Date;
    requests: number;
    crawls: number;
    tokens: number;
    captchas: number;
    latency: number | null;
    credits: number;
    proxy_bytes: number;
  }>(sql`
    with series as (
      select generate_series(
        date_trunc(${unit}, now() at time zone 'utc') - (${buckets - 1} * ('1 ' || ${unit})::interval),
        date_trunc(${unit}, now() at time zone 'utc'),
        ('1 ' || ${unit})::interval
      ) as start
    ),
    usage as (
      select date_trunc(${unit}, created_at at time zone 'utc') as start,
             count(*) filter (where kind = 'scrape')::int as requests,
             count(*) filter (where kind = 'crawl')::int as crawls,
             coalesce(sum((stats ->> 'totalTokens')::bigint), 0)::bigint as tokens,
             coalesce(sum((stats ->> 'captchaSolvedCount')::bigint), 0)::bigint as captchas,
             avg((stats ->> 'durationMs')::float) filter (where status = 'completed' and kind = 'scrape') as latency,
             coalesce(sum(credits_used), 0)::float as credits,
             coalesce(sum((stats ->> 'proxyBytes')::bigint), 0)::bigint as proxy_bytes
        from jobs
       where account_id = ${opts.accountId}
         and created_at >= (date_trunc(${unit}, now() at time zone 'utc') - (${buckets - 1} * ('1 ' || ${unit})::interval)) at time zone 'utc'
       group by 1
    )
    select s.start, coalesce(u.requests, 0)::int as requests, coalesce(u.crawls, 0)::int as crawls,
           coalesce(u.tokens, 0)::float as tokens, coalesce(u.captchas, 0)::float8 as captchas,
           u.latency, coalesce(u.credits, 0)::float as credits, coalesce(u.proxy_bytes, 0)::float8 as proxy_bytes
      from series s left join usage u on u.start = s.start
     order by s.start`);
  return result.rows.map((r) => ({
    start: new Date(`${String(r.start instanceof Date ? r.start.toISOString() : r.start).slice(0, 10)}T00:00:00Z`),
    requests: Number(r.requests),
    crawls: Number(r.crawls),
    tokens: Math.round(Number(r.tokens)),
    captchas: Number(r.captchas),
    latency: r.latency === null ? 0 : Math.round(Number(r.latency)),
    credits: Number(r.credits),
    proxyBytes: Math.round(Number(r.proxy_bytes)),
  }));
}
