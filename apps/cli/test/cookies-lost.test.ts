import { getBalance } from "@orbweaver/db";
import { startFixtureSite, waitFor, type FixtureSite } from "@orbweaver/testkit";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollBatch } from "./helpers/batch.ts";
import { pollCrawl, startCrawl } from "./helpers/crawl.ts";
import { call, pollScrape } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

// Cookies are sealed in Redis beside a job, never stored in Postgres. When the store loses them (a
// Redis flush or restart, or past their 24 h) a job sent with cookies must not run without them:
// its pages would be read logged out and returned as if they were the user's. It fails with the
// reason and nothing charged; a job sent without cookies is not affected.

let site: FixtureSite;
let stack: TestStack;
let redis: Redis;

beforeAll(async () => {
  site = await startFixtureSite();
  // No worker yet: the jobs wait in the queue while their cookies are taken from the store.
  stack = await startTestStack({ worker: false });
  redis = new Redis(stack.config.redisUrl, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
  await site?.close();
});

const secretKey = (id: string) => `${stack.config.queuePrefix}:job-secret:${id}`;

describe("a job whose sealed cookies were lost", () => {
  it("fails with the reason and a refund instead of running without them; jobs without cookies run", async () => {
    const { key, accountId } = await stack.createKey(100);
    const submit = async (body: Record<string, unknown>) => {
      const res = await call<{ jobId: string }>(`${stack.api}/scrape`, { key, body });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      return res.body.jobId;
    };
    const lost = await submit({ urls: [{ url: site.url("/news/1") }], cookies: "session=abc" });
    const kept = await submit({ urls: [{ url: site.url("/news/2") }], cookies: "session=abc" });
    const plain = await submit({ urls: [{ url: site.url("/news/3") }] });
    const crawlId = await startCrawl(stack.api, key, {
      baseUrl: site.url("/site/"),
      maxPages: 2,
      cookies: "session=abc",
    });
    // Sealed, and nothing readable in Postgres.
    for (const id of [lost, kept, crawlId]) expect(await redis.exists(secretKey(id))).toBe(1);
    expect(await redis.exists(secretKey(plain))).toBe(0);
    const stored = await stack.pool.query<{ request: string }>("select request::text from jobs where id = any($1)", [
      [lost, crawlId],
    ]);
    for (const row of stored.rows) expect(row.request).not.toContain("session=abc");

    await redis.del(secretKey(lost), secretKey(crawlId));
    const worker = await stack.startWorker();
    try {
      const failed = (await pollScrape(stack.api, key, lost, 60_000)).final;
      expect(failed.status).toBe("failed");
      expect(failed.error).toMatch(/cookies sent with this job are no longer available/);
      expect((await pollScrape(stack.api, key, kept, 60_000)).final.status).toBe("completed");
      expect((await pollScrape(stack.api, key, plain, 60_000)).final.status).toBe("completed");
      const crawl = (await pollCrawl(stack.api, key, crawlId)).final;
      expect(crawl.status).toBe("failed");
      expect(crawl.error).toMatch(/cookies sent with this job are no longer available/);
      // Charged: the two scrapes that ran (2 credits each); the lost ones were refunded.
      await expect.poll(() => getBalance(stack.db, accountId)).toBe(100 - 2 * stack.config.limits.creditsPerUrl);
    } finally {
      await worker.close();
    }
  });
});

describe("a batch sent with cookies", () => {
  it("fails the item whose cookies were lost; a retry without cookies fails it again, a retry with them runs it", async () => {
    const { key } = await stack.createKey(100);
    const submit = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: [site.url("/news/4"), site.url("/news/5")], cookies: "session=abc" },
    });
    expect(submit.status, JSON.stringify(submit.body)).toBe(202);
    const { batchId } = submit.body;
    const queued = await call<{ items: Array<{ url: string; jobId: string | null }> }>(
      `${stack.api}/batch/scrape/${batchId}`,
      { key },
    );
    const lostItem = queued.body.items.find((i) => i.url.endsWith("/news/4"))!;
    expect(await redis.exists(secretKey(lostItem.jobId!))).toBe(1);
    await redis.del(secretKey(lostItem.jobId!));

    const worker = await stack.startWorker();
    try {
      const first = await pollBatch(stack.api, key, batchId);
      const byUrl = (body: typeof first) => new Map(body.items.map((i) => [new URL(i.url).pathname, i]));
      expect(byUrl(first).get("/news/5")).toMatchObject({ status: "completed" });
      expect(byUrl(first).get("/news/4")).toMatchObject({ status: "failed" });
      expect(byUrl(first).get("/news/4")!.error).toMatch(/cookies sent with this job are no longer available/);

      // A retry runs the item as a new job: its answer is the one under a new job id.
      let lastJob = byUrl(first).get("/news/4")!.jobId;
      const retry = async (body: Record<string, unknown>) => {
        const res = await call(`${stack.api}/batch/scrape/${batchId}/retry`, { key, body });
        expect(res.status, JSON.stringify(res.body)).toBe(202);
        const item = await waitFor(
          async () => {
            const found = byUrl(await pollBatch(stack.api, key, batchId)).get("/news/4")!;
            return found.jobId !== lastJob && ["completed", "failed"].includes(found.status) ? found : undefined;
          },
          { timeoutMs: 60_000, message: "the retried item to finish" },
        );
        lastJob = item.jobId;
        return item;
      };
      const without = await retry({});
      expect(without.status).toBe("failed");
      expect(without.error).toMatch(/cookies sent with this job are no longer available/);
      expect(await retry({ cookies: "session=abc" })).toMatchObject({ status: "completed" });
    } finally {
      await worker.close();
    }
  });
});
