import { waitFor, type FixtureSite } from "@orbweaver/testkit";
import { describe, expect, it } from "vitest";
import { ledgerGap } from "./helpers/batch.ts";
import { pathsOf, pollCrawl, startCrawl, type CrawlBody } from "./helpers/crawl.ts";
import { call } from "./helpers/http.ts";
import { useWorkerProcesses } from "./helpers/spawn.ts";
import { startSiteAndStack, useStarted, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let stack: TestStack;

// Short locks so a dead worker's crawl is noticed within seconds.
const fastStalls = { JOB_LOCK_MS: "3000", STALLED_INTERVAL_MS: "2000", SHUTDOWN_TIMEOUT_MS: "20000" };

useStarted(
  () => startSiteAndStack({ worker: false, env: fastStalls }),
  (started) => ({ site, stack } = started),
);

const startWorkerProcess = useWorkerProcesses(() => stack.env);

const crawledCount = async (crawlId: string): Promise<number> =>
  (
    await stack.pool.query("select count(*)::int as n from crawl_pages where crawl_id = $1 and status = 'success'", [
      crawlId,
    ])
  ).rows[0].n;

describe("a crawl survives its worker", () => {
  it("resumes from the Postgres frontier after the worker is killed, with no page twice", async () => {
    const { key, accountId } = await stack.createKey(100);
    const first = startWorkerProcess();
    const jobId = await startCrawl(stack.api, key, {
      baseUrl: site.url("/site-slow/"),
      maxPages: 8,
      excludePaths: ["/site-slow/products"],
    });
    await waitFor(async () => (await crawledCount(jobId)) >= 2, { timeoutMs: 60_000, message: "two pages crawled" });
    first.child.kill("SIGKILL");
    expect(await first.exited).toBeNull();
    const before = await crawledCount(jobId);
    expect(before).toBeLessThan(8);

    const second = startWorkerProcess();
    const { final } = await pollCrawl(stack.api, key, jobId, 90_000);
    expect(final.status, JSON.stringify(final)).toBe("completed");
    const paths = pathsOf(final.result!);
    expect(paths).toHaveLength(8);
    expect(new Set(paths).size).toBe(8);
    expect(paths).toEqual([
      "/site-slow/",
      "/site-slow/about",
      "/site-slow/docs/",
      "/site-slow/blog/",
      "/site-slow/changelog",
      "/site-slow/login",
      "/site-slow/contact",
      "/site-slow/orphan",
    ]);
    const rows = await stack.pool.query(
      "select url, count(*)::int as n from crawl_pages where crawl_id = $1 group by url having count(*) > 1",
      [jobId],
    );
    expect(rows.rows).toEqual([]);
    const job = (await stack.pool.query("select attempts from jobs where id = $1", [jobId])).rows[0];
    expect(job.attempts).toBeGreaterThanOrEqual(2);
    const ledger = await stack.pool.query(
      "select reason, delta::float from credit_ledger where job_id = $1 order by id",
      [jobId],
    );
    expect(ledger.rows).toEqual([{ reason: "reserve", delta: -16 }]);
    expect(await ledgerGap(stack.pool, accountId, 100)).toBe(0);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });

  it("keeps pagesCrawled from going back when another worker resumes a handed-back crawl", async () => {
    const { key } = await stack.createKey(100);
    const first = startWorkerProcess();
    const jobId = await startCrawl(stack.api, key, {
      baseUrl: site.url("/site-slow/"),
      maxPages: 8,
      excludePaths: ["/site-slow/products"],
    });
    // Every pagesCrawled a client polling often sees, from the submit to the end.
    const seen: number[] = [];
    const watched = (async (): Promise<CrawlBody> => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        if (Date.now() > deadline) throw new Error(`crawl ${jobId} did not finish; pagesCrawled seen: ${seen}`);
        const res = await call<CrawlBody>(`${stack.api}/crawl/${jobId}`, { key });
        if (res.status !== 200) throw new Error(`crawl poll answered ${res.status}`);
        if (res.body.progress) seen.push(res.body.progress.pagesCrawled);
        if (["completed", "failed", "cancelled"].includes(res.body.status)) return res.body;
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    await waitFor(async () => (seen.at(-1) ?? 0) >= 3, { timeoutMs: 60_000, message: "three pages reported" });
    first.child.kill("SIGTERM");
    expect(await first.exited, first.output()).toBe(0);
    const handedBack = await crawledCount(jobId);
    expect(handedBack).toBeLessThan(8);
    const second = startWorkerProcess();
    const final = await watched;
    expect(final.status, JSON.stringify(final)).toBe("completed");
    const firstDrop = seen.findIndex((n, i) => i > 0 && n < seen[i - 1]!);
    const changes = seen.filter((n, i) => i === 0 || n !== seen[i - 1]);
    expect(firstDrop, `pagesCrawled went back: ${changes.join(" → ")}`).toBe(-1);
    expect(seen).toContain(handedBack);
    expect(final.progress).toMatchObject({ status: "completed", progress: 1, pagesCrawled: 8, maxPages: 8 });
    expect(final.result).toHaveLength(8);
    const record = await call<{ pages_crawled: number }>(`${stack.api}/crawl/job/${jobId}`, { key });
    expect(record.body.pages_crawled).toBe(8);
    const job = (await stack.pool.query("select attempts from jobs where id = $1", [jobId])).rows[0];
    expect(job.attempts).toBeGreaterThanOrEqual(2);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });

  it("hands a running crawl back to the queue on SIGTERM, and another worker finishes it", async () => {
    const { key } = await stack.createKey(100);
    const first = startWorkerProcess();
    const jobId = await startCrawl(stack.api, key, { baseUrl: site.url("/site-slow/docs/"), maxPages: 6 });
    await waitFor(async () => (await crawledCount(jobId)) >= 1, { timeoutMs: 60_000, message: "a page crawled" });
    first.child.kill("SIGTERM");
    expect(await first.exited, first.output()).toBe(0);
    const row = (await stack.pool.query("select status from jobs where id = $1", [jobId])).rows[0];
    expect(["delayed", "waiting"], first.output().slice(-3000)).toContain(row.status);
    const second = startWorkerProcess();
    const { final } = await pollCrawl(stack.api, key, jobId, 90_000);
    expect(final.status).toBe("completed");
    expect(final.result).toHaveLength(6);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });
});
