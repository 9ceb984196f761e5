// Job and crawl bookkeeping where the rest of the suite does not look, each test written against a
// mutation that survived it (see notes/settle3.md): the weekly usage rows' dates and labels; a scrape
// waiting for its retry listed as in progress; a cancelled crawl's progress keeping its maxPages;
// JOB_RETENTION_MS sparing a crawl whose page was re-extracted recently and work younger than it
// (whatever BLOB_RETENTION_MS says); a batch whose dispatch fails at submit failed and refunded; and
// the reconciler giving up a lost scrape or crawl as soon as its attempts are used up.
import { startApi } from "@orbweaver/api";
import { finishCrawl } from "@orbweaver/db";
import { createCrawlQueue, createRedisConnection, createScrapeQueue } from "@orbweaver/queue";
import { waitFor, type FixtureSite } from "@orbweaver/testkit";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { ledgerGap, type BatchBody } from "./helpers/batch.ts";
import { crawl, pollCrawl, startCrawl, type CrawlBody } from "./helpers/crawl.ts";
import { call, pollScrape, scrapeAndWait, submitScrape } from "./helpers/http.ts";
import { accountWith, scrapeRow } from "./helpers/job-rows.ts";
import { startModelStack, startTestStack, useStarted, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let stack: TestStack;

// Stored files are kept an hour, finished work a day; the sweep runs every 300 ms so a test sees it.
useStarted(
  () =>
    startModelStack({
      LLM_MODEL: "test-model",
      CREDITS_PER_1K_TOKENS: "1",
      BLOB_RETENTION_MS: "3600000",
      JOB_RETENTION_MS: "86400000",
      RETENTION_SWEEP_INTERVAL_MS: "300",
    }),
  (started) => ({ site, stack } = started),
);

const DAY_MS = 86_400_000;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const monthDay = (d: Date) => `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;

describe("weekly usage rows", () => {
  it("are the last 7 ISO weeks, Monday to Sunday, each dated and labelled by its own first and last day", async () => {
    const { key } = await stack.createKey(1);
    const res = await call<{ data: Array<{ label: string; date: string }> }>(`${stack.api}/usage-stats?range=weekly`, {
      key,
    });
    expect(res.status).toBe(200);
    const today = new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
    const monday = new Date(today.getTime() - ((today.getUTCDay() + 6) % 7) * DAY_MS);
    const expected = Array.from({ length: 7 }, (_, i) => {
      const start = new Date(monday.getTime() - (6 - i) * 7 * DAY_MS);
      const end = new Date(start.getTime() + 6 * DAY_MS);
      const sameMonth = start.getUTCMonth() === end.getUTCMonth();
      return {
        label: sameMonth ? `${monthDay(start)}-${end.getUTCDate()}` : `${monthDay(start)}-${monthDay(end)}`,
        date: `${monthDay(start)} – ${monthDay(end)}`,
      };
    });
    expect(res.body.data.map((r) => ({ label: r.label, date: r.date }))).toEqual(expected);
  });
});

describe("scrape logs in progress", () => {
  it("lists a scrape waiting for its retry (delayed) with the waiting and running ones, not under success or error", async () => {
    const { key, ids } = await accountWith(stack, [
      scrapeRow("http://a.test/waiting", { status: "waiting", creditsUsed: 0 }),
      scrapeRow("http://a.test/retrying", { status: "delayed", creditsUsed: 0, attempts: 1 }),
      scrapeRow("http://a.test/running", { status: "active", creditsUsed: 0, attempts: 1 }),
      scrapeRow("http://a.test/done", { finishedAt: new Date() }),
    ]);
    const logs = async (status: string) =>
      (
        await call<{ data: { logs: Array<{ uuid: string }>; total: number } }>(
          `${stack.api}/scrape-logs?status=${status}&limit=100`,
          { key },
        )
      ).body.data;
    const inProgress = await logs("in_progress");
    expect(inProgress.logs.map((l) => l.uuid).sort()).toEqual(ids.slice(0, 3).sort());
    expect(inProgress.total).toBe(3);
    expect((await logs("success")).logs.map((l) => l.uuid)).toEqual([ids[3]]);
    expect((await logs("error")).total).toBe(0);
  });
});

describe("a scrape retried after its browser crashed", () => {
  it("keeps the start of its first attempt as its log's started_at", async () => {
    const { key } = await stack.createKey(10);
    // A screenshot keeps the page in Chromium, which then dies under it (a transient failure: retried).
    const submit = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      body: { urls: [{ url: site.url("/slow?ms=4000") }], screenshot: true },
    });
    expect(submit.status).toBe(202);
    const { jobId } = submit.body;
    await waitFor(
      async () =>
        (await stack.pool.query("select status from jobs where id = $1", [jobId])).rows[0]?.status === "active",
      { timeoutMs: 30_000, intervalMs: 50, message: "the first attempt to start" },
    );
    const { rows } = await stack.pool.query<{ now: Date }>("select now() as now");
    const crashedAt = rows[0]!.now;
    const pool = stack.workers[0]!.pool;
    process.kill(await waitFor(() => pool.pid(), { timeoutMs: 5000 }), "SIGKILL");
    const { final } = await pollScrape(stack.api, key, jobId, 60_000);
    expect(final.status, JSON.stringify(final)).toBe("completed");
    const attempts = await stack.pool.query<{ attempts: number }>("select attempts from jobs where id = $1", [jobId]);
    expect(attempts.rows[0]!.attempts).toBe(2);
    const log = await call<{ data: { started_at: string } }>(`${stack.api}/scrape-logs/${jobId}`, { key });
    expect(log.status).toBe(200);
    expect(new Date(log.body.data.started_at).getTime()).toBeLessThan(crashedAt.getTime());
  });
});

describe("a cancelled crawl's progress", () => {
  it("keeps the maxPages asked for, beside the pages crawled before the cancel", async () => {
    const { key, accountId } = await stack.createKey(100);
    const jobId = await startCrawl(stack.api, key, { baseUrl: site.url("/site-slow/"), maxPages: 10 });
    await waitFor(
      async () => {
        const pages = await call<{ pages: Array<{ status: string }> }>(`${stack.api}/crawl/${jobId}/pages`, { key });
        return (pages.body.pages ?? []).some((p) => p.status === "success");
      },
      { timeoutMs: 60_000, message: "a page crawled" },
    );
    const del = await call(`${stack.api}/crawl/${jobId}`, { key, method: "DELETE" });
    expect(del.status).toBe(200);
    const polled = await call<CrawlBody>(`${stack.api}/crawl/${jobId}`, { key });
    expect(polled.body.status).toBe("cancelled");
    const job = await call<{ pages_crawled: number; credits_used: number }>(`${stack.api}/crawl/job/${jobId}`, { key });
    const crawled = job.body.pages_crawled;
    expect(crawled).toBeGreaterThanOrEqual(1);
    expect(crawled).toBeLessThan(10);
    expect(polled.body.progress).toMatchObject({
      status: "cancelled",
      progress: 1,
      pagesCrawled: crawled,
      maxPages: 10,
    });
    expect(await ledgerGap(stack.pool, accountId, 100)).toBe(0);
    const balance = await stack.balance(accountId);

    // The reconciler giving the crawl up just after the cancel (it read it as unfinished a moment
    // before; it settles whatever attempt owns it) is refused: the crawl stays cancelled, billed once.
    expect(
      await finishCrawl(stack.db, {
        crawlId: jobId,
        runToken: null,
        status: "failed",
        error: "given up",
        creditsPer1kTokens: 1,
      }),
    ).toBeNull();
    const after = await call<CrawlBody>(`${stack.api}/crawl/${jobId}`, { key });
    expect(after.body).toMatchObject({ status: "cancelled", error: null });
    expect(after.body.progress).toMatchObject({ status: "cancelled", pagesCrawled: crawled, maxPages: 10 });
    const jobAfter = await call<{ credits_used: number; status: string }>(`${stack.api}/crawl/job/${jobId}`, { key });
    expect(jobAfter.body).toMatchObject({ status: "cancelled", credits_used: job.body.credits_used });
    expect(await stack.balance(accountId)).toBe(balance);
    expect(await ledgerGap(stack.pool, accountId, 100)).toBe(0);
  });
});

describe("retention of finished work (JOB_RETENTION_MS) against recent activity", () => {
  it("keeps a crawl finished long ago whose page was re-extracted since, and work finished within the retention", async () => {
    const { key } = await stack.createKey(100);
    const done = await crawl(stack.api, key, {
      baseUrl: site.url("/site/"),
      maxPages: 1,
      transformInstruction: "Give the page title",
    });
    const page = done.result![0]!;
    const retry = await call<{ success: boolean }>(`${stack.api}/crawl/${done.jobId}/retry/${page.id}`, {
      key,
      method: "POST",
    });
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    expect(retry.body.success).toBe(true);
    const scrape = async () => {
      const final = await scrapeAndWait(stack.api, key, { urls: [{ url: site.url("/news") }] });
      expect(final.status).toBe("completed");
      return final.jobId;
    };
    const old = await scrape();
    const hoursOld = await scrape();
    // In one statement: the crawl finished two days ago (its page re-extracted just now), one scrape
    // two days ago (past the retention: the witness that a sweep ran), one two hours ago (within it,
    // though older than BLOB_RETENTION_MS).
    await stack.pool.query(
      `update jobs set
          finished_at = now() - case when id = $3 then interval '2 hours' else interval '2 days' end,
          created_at = now() - case when id = $3 then interval '2 hours' else interval '2 days' end,
          updated_at = case when id = $1 then updated_at
                            else now() - case when id = $3 then interval '2 hours' else interval '2 days' end end
        where id = any(array[$1, $2, $3]::uuid[])`,
      [done.jobId, old, hoursOld],
    );
    await waitFor(async () => (await call(`${stack.api}/scrape-logs/${old}`, { key })).status === 404, {
      timeoutMs: 20_000,
      message: "the old scrape to be deleted",
    });
    const kept = await call<CrawlBody>(`${stack.api}/crawl/${done.jobId}`, { key });
    expect(kept.status).toBe(200);
    expect(kept.body.status).toBe("completed");
    expect((await call(`${stack.api}/scrape-logs/${hoursOld}`, { key })).status).toBe(200);
    expect((await call(`${stack.api}/scrape/${hoursOld}`, { key })).status).toBe(200);
  });
});

describe("a batch whose dispatch fails at submit", () => {
  it("answers 503, and the batch and every item read failed, their reservations refunded once", async () => {
    // A second gateway on the same database whose queue refuses every job (Redis gone, as far as it knows).
    const gateway = await startApi(stack.config);
    try {
      const down = () => Promise.reject(new Error("the queue is unavailable"));
      const queue = gateway.app.deps.scrapeQueue as unknown as Record<"add" | "addBulk", () => Promise<never>>;
      queue.add = down;
      queue.addBulk = down;
      const api = `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}${stack.config.apiPrefix}`;
      const { key, accountId } = await stack.createKey(20);
      const submit = await call<Record<string, unknown>>(`${api}/batch/scrape`, {
        key,
        body: { urls: [site.url("/product/1"), site.url("/product/2")] },
      });
      expect(submit.status, JSON.stringify(submit.body)).toBe(503);
      expect(submit.body).toMatchObject({ status: "error", code: "SERVICE_BUSY" });
      const { rows } = await stack.pool.query<{ id: string; batch_id: string; reserved: number }>(
        "select id, batch_id, credits_reserved::float as reserved from jobs where account_id = $1",
        [accountId],
      );
      expect(rows).toHaveLength(2);
      const batchId = rows[0]!.batch_id;
      const batch = await call<BatchBody>(`${stack.api}/batch/scrape/${batchId}`, { key });
      expect(batch.status).toBe(200);
      expect(batch.body.status).toBe("failed");
      expect(batch.body.finishedAt).not.toBeNull();
      expect(batch.body.items.map((i) => [i.status, i.error, i.creditsUsed])).toEqual([
        ["failed", "The batch could not be queued", 0],
        ["failed", "The batch could not be queued", 0],
      ]);
      for (const row of rows) {
        const ledger = await stack.pool.query<{ reason: string; delta: number }>(
          "select reason, delta::float as delta from credit_ledger where job_id = $1 order by id",
          [row.id],
        );
        expect(ledger.rows).toEqual([
          { reason: "reserve", delta: -row.reserved },
          { reason: "refund", delta: row.reserved },
        ]);
      }
      expect(await stack.balance(accountId)).toBe(20);
      expect(await ledgerGap(stack.pool, accountId, 20)).toBe(0);
    } finally {
      await gateway.close();
    }
  });
});

describe("the reconciler and a lost job whose attempts are just used up", () => {
  it("gives up a scrape and a crawl interrupted exactly as many times as it allows, without running them again", async () => {
    // No worker at first: the jobs wait in the queue, which then loses them.
    const idle = await startTestStack({
      worker: false,
      env: { RECONCILE_INTERVAL_MS: "1000" },
    });
    const redis = createRedisConnection(idle.config.redisUrl, "producer");
    const scrapeQueue = createScrapeQueue({ connection: redis, prefix: idle.config.queuePrefix });
    const crawlQueue = createCrawlQueue({ connection: redis, prefix: idle.config.queuePrefix, attempts: 1 });
    try {
      const { key, accountId } = await idle.createKey(100);
      const scrapeId = await submitScrape(idle.api, key, site.url("/product/3"));
      const crawlId = await startCrawl(idle.api, key, { baseUrl: site.url("/site/"), maxPages: 2 });
      for (const [queue, id] of [
        [scrapeQueue, scrapeId],
        [crawlQueue, crawlId],
      ] as const) {
        const lost = await queue.getJob(id);
        expect(lost, id).toBeDefined();
        await lost!.remove();
      }
      // The reconciler's limit: the queue's attempts and two re-dispatches.
      const limit = idle.config.jobs.attempts + 2;
      await idle.pool.query(
        "update jobs set attempts = $2, updated_at = now() - interval '1 hour' where id = any($1::uuid[])",
        [[scrapeId, crawlId], limit],
      );
      await idle.startWorker();
      const scrape = await pollScrape(idle.api, key, scrapeId, 60_000);
      expect(scrape.final.status).toBe("failed");
      expect(scrape.final.error).toBe(`The job was interrupted ${limit} times and was given up`);
      const crawled = await pollCrawl(idle.api, key, crawlId, 60_000);
      expect(crawled.final.status).toBe("failed");
      expect(crawled.final.error).toBe(`The crawl was interrupted ${limit} times and was given up`);
      // Neither ran again: no further attempt, nothing crawled, nothing charged.
      const { rows } = await idle.pool.query<{ id: string; attempts: number; used: number }>(
        "select id, attempts, credits_used::float as used from jobs where id = any($1::uuid[]) order by id",
        [[scrapeId, crawlId]],
      );
      expect(rows.map((r) => [r.attempts, r.used])).toEqual([
        [limit, 0],
        [limit, 0],
      ]);
      const job = await call<{ pages_crawled: number }>(`${idle.api}/crawl/job/${crawlId}`, { key });
      expect(job.body.pages_crawled).toBe(0);
      expect(await idle.balance(accountId)).toBe(100);
      expect(await ledgerGap(idle.pool, accountId, 100)).toBe(0);
    } finally {
      await scrapeQueue.close();
      await crawlQueue.close();
      redis.disconnect();
      await idle.stop();
    }
  });
});
