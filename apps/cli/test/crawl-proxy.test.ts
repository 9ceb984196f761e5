import { getFreePort, startFixtureSite, type FixtureSite } from "@orbweaver/testkit";
import { Server as ProxyServer } from "proxy-chain";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crawl, onOrigin } from "./helpers/crawl.ts";
import { call, pollScrape } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let stack: TestStack;
let upstream: ProxyServer;
/** Requests the upstream proxy relayed, and the URLs of those it forwarded (plain http). */
let relayed = 0;
const relayedUrls: string[] = [];

beforeAll(async () => {
  site = await startFixtureSite();
  const port = await getFreePort();
  upstream = new ProxyServer({
    port,
    host: "127.0.0.1",
    prepareRequestFunction: ({ request, isHttp }) => {
      relayed += 1;
      if (isHttp) relayedUrls.push(request.url ?? "");
      return {};
    },
  });
  await upstream.listen();
  stack = await startTestStack({ env: { PROXY_POOL: `us=http://127.0.0.1:${port}` } });
});
afterAll(async () => {
  await stack?.stop();
  await upstream?.close(true);
  await site?.close();
});

type HistoryJob = { id: string; use_proxy: number; proxy_bandwidth_mb: number; proxy_billing: string };
type UsageRow = { date: string; requests: number; crawls: number; proxyBytes: number };

const megabytes = (bytes: number) => Math.round((bytes / 1_048_576) * 1000) / 1000;

async function scrape(key: string, body: Record<string, unknown>): Promise<string> {
  const submit = await call<{ jobId: string }>(`${stack.api}/scrape`, { key, body });
  expect(submit.status, JSON.stringify(submit.body)).toBe(202);
  const { final } = await pollScrape(stack.api, key, submit.body.jobId, 60_000);
  expect(final.status, JSON.stringify(final)).toBe("completed");
  return submit.body.jobId;
}

async function crawlPageBytes(crawlId: string): Promise<number[]> {
  const rows = await stack.pool.query<{ b: string }>(
    "select proxy_bytes::text as b from crawl_pages where crawl_id = $1 and status in ('success', 'failed') order by depth, order_key",
    [crawlId],
  );
  return rows.rows.map((r) => Number(r.b));
}

async function jobStatsBytes(jobId: string): Promise<number> {
  const rows = await stack.pool.query<{ b: string | null }>(
    "select stats ->> 'proxyBytes' as b from jobs where id = $1",
    [jobId],
  );
  return Number(rows.rows[0]?.b ?? 0);
}

async function todaysUsage(key: string): Promise<UsageRow> {
  const res = await call<{ data: UsageRow[] }>(`${stack.api}/usage-stats?range=7d`, { key });
  expect(res.status).toBe(200);
  for (const row of res.body.data) expect(Number.isInteger(row.proxyBytes), row.date).toBe(true);
  const today = res.body.data.at(-1)!;
  expect(today.date).toBe(new Date().toISOString().slice(0, 10));
  return today;
}

describe("proxy bandwidth per account", () => {
  it("counts the bytes of proxied crawls and scrapes in the crawl records, the scrape log and the usage rows; unproxied ones count 0", async () => {
    const { key } = await stack.createKey(1000);
    const before = relayed;
    const proxiedCrawl = await crawl(stack.api, key, {
      baseUrl: site.url("/site/"),
      maxPages: 4,
      useProxy: true,
      proxyCountry: "us",
    });
    expect(relayed).toBeGreaterThan(before);
    expect(proxiedCrawl.result).toHaveLength(4);

    // Every page moved at least its own HTML through the proxy.
    const pageBytes = await crawlPageBytes(proxiedCrawl.jobId);
    expect(pageBytes).toHaveLength(4);
    for (const [i, page] of proxiedCrawl.result!.entries()) {
      const html = await fetch(onOrigin(stack.origin, page.html_url!));
      expect(html.status).toBe(200);
      const size = Buffer.byteLength(await html.text());
      expect(pageBytes[i]!, page.url).toBeGreaterThan(size);
    }
    const crawlBytes = pageBytes.reduce((a, b) => a + b, 0);
    expect(await jobStatsBytes(proxiedCrawl.jobId)).toBe(crawlBytes);

    const plainCrawl = await crawl(stack.api, key, { baseUrl: site.url("/site/"), maxPages: 2 });
    expect(await crawlPageBytes(plainCrawl.jobId)).toEqual([0, 0]);

    // Crawl records: the history and the job record.
    const history = await call<{ jobs: HistoryJob[] }>(`${stack.api}/crawl/history`, { key });
    const proxiedRecord = history.body.jobs.find((j) => j.id === proxiedCrawl.jobId)!;
    expect(proxiedRecord).toMatchObject({ use_proxy: 1, proxy_billing: "none" });
    expect(proxiedRecord.proxy_bandwidth_mb).toBeGreaterThan(0);
    expect(proxiedRecord.proxy_bandwidth_mb).toBe(megabytes(crawlBytes));
    expect(history.body.jobs.find((j) => j.id === plainCrawl.jobId)).toMatchObject({
      use_proxy: 0,
      proxy_bandwidth_mb: 0,
    });
    const record = await call<HistoryJob>(`${stack.api}/crawl/job/${proxiedCrawl.jobId}`, { key });
    expect(record.body.proxy_bandwidth_mb).toBe(megabytes(crawlBytes));
    expect(
      (await call<HistoryJob>(`${stack.api}/crawl/job/${plainCrawl.jobId}`, { key })).body.proxy_bandwidth_mb,
    ).toBe(0);

    // Scrapes: the log of a proxied one shows its bytes, an unproxied one 0.
    const relayedBefore = relayed;
    const proxiedScrape = await scrape(key, { urls: [{ url: site.url("/news/1") }], useProxy: true });
    expect(relayed).toBeGreaterThan(relayedBefore);
    const plainScrape = await scrape(key, { urls: [{ url: site.url("/news/1") }] });
    const scrapeBytes = await jobStatsBytes(proxiedScrape);
    expect(scrapeBytes).toBeGreaterThan(0);
    const log = (id: string) =>
      call<{ data: { proxy_bandwidth_mb: number } }>(`${stack.api}/scrape-logs/${id}`, { key });
    expect((await log(proxiedScrape)).body.data.proxy_bandwidth_mb).toBe(megabytes(scrapeBytes));
    expect((await log(proxiedScrape)).body.data.proxy_bandwidth_mb).toBeGreaterThan(0);
    expect((await log(plainScrape)).body.data.proxy_bandwidth_mb).toBe(0);

    // Usage: the account's bytes, summed over its jobs in one row per day.
    const usage = await todaysUsage(key);
    expect(usage).toMatchObject({ requests: 2, crawls: 2, proxyBytes: crawlBytes + scrapeBytes });
    for (const alias of ["/usage", "/account/usage"]) {
      const res = await call<{ data: UsageRow[] }>(`${stack.api}${alias}`, { key });
      expect(res.body.data.at(-1)!.proxyBytes, alias).toBe(crawlBytes + scrapeBytes);
    }

    // Another account with unproxied work only: 0 everywhere.
    const other = await stack.createKey(100);
    await scrape(other.key, { urls: [{ url: site.url("/news/2") }] });
    await crawl(stack.api, other.key, { baseUrl: site.url("/site/"), maxPages: 1 });
    const otherUsage = await call<{ data: UsageRow[] }>(`${stack.api}/usage-stats?range=30d`, { key: other.key });
    expect(otherUsage.body.data.at(-1)).toMatchObject({ requests: 1, crawls: 1, proxyBytes: 0 });
    expect(otherUsage.body.data.every((r) => r.proxyBytes === 0)).toBe(true);
  });
});

describe("a proxied crawl's robots.txt and sitemaps", () => {
  it("are read through its proxy and their bytes billed with its pages; an unproxied crawl reads them directly", async () => {
    const { key } = await stack.createKey(1000);
    const robotsUrl = site.url("/robots.txt");
    const sitemapUrl = site.url("/sitemap.xml");
    const robots = await (await fetch(robotsUrl)).text();
    const sitemap = await (await fetch(sitemapUrl)).text();
    expect(robots).toContain(sitemapUrl);

    const from = relayedUrls.length;
    // Fast mode: the base page's own bytes are its HTML and headers only (no subresources).
    const proxied = await crawl(stack.api, key, {
      baseUrl: site.url("/site/"),
      maxPages: 2,
      scrapeMode: "fast",
      useProxy: true,
      proxyCountry: "us",
    });
    const seen = relayedUrls.slice(from);
    expect(seen).toContain(robotsUrl);
    expect(seen).toContain(sitemapUrl);
    // Read before the base page: its count holds their bytes as well as its own HTML.
    const [baseBytes] = await crawlPageBytes(proxied.jobId);
    const baseHtml = Buffer.byteLength(await (await fetch(site.url("/site/"))).text());
    expect(baseBytes).toBeGreaterThan(baseHtml + Buffer.byteLength(robots) + Buffer.byteLength(sitemap));

    const before = relayedUrls.length;
    await crawl(stack.api, key, { baseUrl: site.url("/site/"), maxPages: 2, scrapeMode: "fast" });
    expect(relayedUrls.slice(before)).toEqual([]);
  });
});
