// Redis loses everything mid-run (FLUSHALL, then a crash and restart without persistence): Postgres
// is the system of record, so the reconciler re-dispatches every job that is not terminal and all
// complete. While Redis is down the gateway answers 503 at once. A private redis-server and a
// private Postgres cluster (with a trigger that records terminal writes) keep the shared ones out.
import {
  nothingLostProblems,
  startRedisServer,
  waitFor,
  within,
  type FixtureSite,
  type RedisServer,
} from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ledgerGap, pollBatch } from "./helpers/batch.ts";
import { call, pollScrape, submitScrape } from "./helpers/http.ts";
import { startPrivatePostgresStack, useStarted, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let redis: RedisServer;
let stack: TestStack;

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.close();
});
useStarted(
  () =>
    startPrivatePostgresStack({
      env: {
        REDIS_URL: redis.url,
        // A queued job the queue lost is re-dispatched once idle for 2 × JOB_LOCK_MS.
        JOB_LOCK_MS: "2000",
        STALLED_INTERVAL_MS: "2000",
        RECONCILE_INTERVAL_MS: "1000",
        WORKER_CONCURRENCY: "2",
        BATCH_CONCURRENCY: "2",
        PAGE_TIMEOUT_MS: "20000",
      },
    }),
  (started) => ({ site, stack } = started),
);

interface Envelope {
  status: string;
  message: string;
  code?: string;
}

async function submitBatch(key: string, paths: string[]): Promise<{ batchId: string; jobIds: string[] }> {
  const res = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
    key,
    body: { urls: paths.map((p) => site.url(p)) },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const items = await stack.pool.query("select job_id from batch_items where batch_id = $1 order by position", [
    res.body.batchId,
  ]);
  return { batchId: res.body.batchId, jobIds: items.rows.map((r) => r.job_id as string) };
}

async function statuses(jobIds: string[]): Promise<Array<{ id: string; status: string; dispatched: boolean }>> {
  const { rows } = await stack.pool.query(
    "select id, status, dispatched_at is not null as dispatched from jobs where id = any($1::uuid[])",
    [jobIds],
  );
  return rows as Array<{ id: string; status: string; dispatched: boolean }>;
}

async function waitUntilTerminal(jobIds: string[], timeoutMs = 90_000): Promise<void> {
  await waitFor(
    async () => (await statuses(jobIds)).every((r) => ["completed", "failed", "cancelled"].includes(r.status)),
    { timeoutMs, intervalMs: 250, message: `${jobIds.length} jobs to reach a terminal state` },
  );
}

describe("Redis flushed mid-run", () => {
  it("re-dispatches every unfinished job from Postgres; all complete, nothing lost", async () => {
    const { key, accountId } = await stack.createKey(100);
    const scrapes: string[] = [];
    for (let n = 0; n < 4; n++) scrapes.push(await submitScrape(stack.api, key, site.url(`/slow?ms=1500&flush=${n}`)));
    const batch = await submitBatch(
      key,
      [0, 1, 2, 3].map((n) => `/slow?ms=1500&flushbatch=${n}`),
    );
    const acknowledged = [...scrapes, ...batch.jobIds];

    await waitFor(async () => (await statuses(acknowledged)).some((r) => r.status === "active"), {
      timeoutMs: 30_000,
      message: "a job to start",
    });
    await redis.flushAll();
    const atFlush = await statuses(acknowledged);
    // Queued jobs the flush erased: only a re-dispatch from Postgres can finish them.
    const lost = atFlush.filter((r) => r.status === "waiting" && r.dispatched);
    expect(lost.length, JSON.stringify(atFlush)).toBeGreaterThan(0);

    await waitUntilTerminal(acknowledged);
    expect(
      await nothingLostProblems(stack.pool, { acknowledged, accountId, openingCredits: 100, expectCompleted: true }),
    ).toEqual([]);
    const done = await pollBatch(stack.api, key, batch.batchId, 30_000);
    expect(done).toMatchObject({ status: "completed", completedCount: 4, failedCount: 0 });
    const balance = await stack.pool.query("select credits_balance::float as b from accounts where id = $1", [
      accountId,
    ]);
    expect(balance.rows[0]?.b).toBe(100 - 2 * acknowledged.length);
  });
});

describe("Redis restarted mid-run", () => {
  it("answers 503 at once while Redis is down, then completes every acknowledged job", async () => {
    const { key, accountId } = await stack.createKey(100);
    const scrapes: string[] = [];
    // The first with an Idempotency-Key: Postgres keeps it (and its request) while Redis is gone.
    const keyedBody = { urls: [{ url: site.url("/slow?ms=2500&restart=0") }] };
    const keyedHeaders = { "idempotency-key": "before-outage" };
    const keyedFirst = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      body: keyedBody,
      headers: keyedHeaders,
    });
    expect(keyedFirst.status, JSON.stringify(keyedFirst.body)).toBe(202);
    scrapes.push(keyedFirst.body.jobId);
    for (let n = 1; n < 3; n++)
      scrapes.push(await submitScrape(stack.api, key, site.url(`/slow?ms=2500&restart=${n}`)));
    const batch = await submitBatch(
      key,
      [0, 1, 2].map((n) => `/slow?ms=2500&restartbatch=${n}`),
    );
    const acknowledged = [...scrapes, ...batch.jobIds];
    await waitFor(async () => (await statuses(acknowledged)).some((r) => r.status === "active"), {
      timeoutMs: 30_000,
      message: "a job to start",
    });

    await redis.stop("SIGKILL");
    const terminalBefore = (await statuses(acknowledged)).filter((r) => ["completed", "failed"].includes(r.status));

    // While it is down: submits get 503 in the envelope, reads from Postgres still work.
    const refused = await within(
      15_000,
      "POST /scrape",
      call<Envelope>(`${stack.api}/scrape`, { key, body: { urls: [{ url: site.url("/") }] } }),
    );
    expect(refused.status, JSON.stringify(refused.body)).toBe(503);
    expect(refused.body).toMatchObject({ status: "error", code: "SERVICE_BUSY" });
    const refusedBatch = await within(
      15_000,
      "POST /batch/scrape",
      call<Envelope>(`${stack.api}/batch/scrape`, { key, body: { urls: [site.url("/"), site.url("/news")] } }),
    );
    expect(refusedBatch.status, JSON.stringify(refusedBatch.body)).toBe(503);
    expect(refusedBatch.body).toMatchObject({ status: "error", code: "SERVICE_BUSY" });
    // An Idempotency-Key (kept in Redis) cannot be honoured now: still 503, not a 429 or a hang.
    const keyed = await within(
      15_000,
      "POST /scrape with Idempotency-Key",
      call<Envelope>(`${stack.api}/scrape`, {
        key,
        headers: { "idempotency-key": "during-outage" },
        body: { urls: [{ url: site.url("/") }] },
      }),
    );
    expect(keyed.status, JSON.stringify(keyed.body)).toBe(503);
    expect(keyed.body).toMatchObject({ status: "error", code: "SERVICE_BUSY" });
    // A key recorded before the outage is still honoured from Postgres: its job for the same request,
    // a 422 for another one.
    const keyedAgain = await within(
      15_000,
      "POST /scrape, the same key and body",
      call<{ jobId: string }>(`${stack.api}/scrape`, { key, body: keyedBody, headers: keyedHeaders }),
    );
    expect(keyedAgain.status, JSON.stringify(keyedAgain.body)).toBe(202);
    expect(keyedAgain.body.jobId).toBe(keyedFirst.body.jobId);
    const keyedOther = await within(
      15_000,
      "POST /scrape, the same key with another body",
      call<Envelope>(`${stack.api}/scrape`, { key, body: { urls: [{ url: site.url("/") }] }, headers: keyedHeaders }),
    );
    expect(keyedOther.status, JSON.stringify(keyedOther.body)).toBe(422);
    expect(keyedOther.body).toMatchObject({ status: "error", code: "IDEMPOTENCY_KEY_REUSED" });
    const poll = await within(15_000, "GET /scrape/:id", call(`${stack.api}/scrape/${scrapes[0]}`, { key }));
    expect(poll.status).toBe(200);
    const ready = await within(15_000, "GET /ready", call<Envelope & { redis: string }>(`${stack.origin}/ready`));
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: "error", redis: "unavailable", postgres: "ok" });

    // The running pages finish and their results reach Postgres without Redis.
    await waitFor(
      async () =>
        (await statuses(acknowledged)).filter((r) => ["completed", "failed"].includes(r.status)).length >
        terminalBefore.length,
      { timeoutMs: 30_000, message: "a running job to write its result while Redis is down" },
    );
    await redis.start();

    await waitUntilTerminal(acknowledged);
    expect(await nothingLostProblems(stack.pool, { acknowledged, expectCompleted: true })).toEqual([]);
    // The submits refused with 503 were settled as failed and fully refunded.
    const others = await stack.pool.query("select id from jobs where account_id = $1 and not (id = any($2::uuid[]))", [
      accountId,
      acknowledged,
    ]);
    const refusedIds = others.rows.map((r) => r.id as string);
    expect(refusedIds).toHaveLength(4);
    expect((await statuses(refusedIds)).map((r) => r.status)).toEqual(["failed", "failed", "failed", "failed"]);
    expect(await nothingLostProblems(stack.pool, { acknowledged: refusedIds, accountId, openingCredits: 100 })).toEqual(
      [],
    );

    // Both sides are back: a new submit is accepted and completes.
    const after = await submitScrape(stack.api, key, site.url("/"));
    const { final } = await pollScrape(stack.api, key, after, 60_000);
    expect(final.status, JSON.stringify(final)).toBe("completed");
    expect(await nothingLostProblems(stack.pool, { acknowledged: [after], expectCompleted: true })).toEqual([]);
    // The key refused with 503 during the outage was let go: its retry is a new job that runs, not
    // the failed one (Postgres records a key with its job, so the release is what frees it).
    const keyedRetry = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      headers: { "idempotency-key": "during-outage" },
      body: { urls: [{ url: site.url("/") }] },
    });
    expect(keyedRetry.status, JSON.stringify(keyedRetry.body)).toBe(202);
    expect(refusedIds).not.toContain(keyedRetry.body.jobId);
    const retried = await pollScrape(stack.api, key, keyedRetry.body.jobId, 60_000);
    expect(retried.final.status, JSON.stringify(retried.final)).toBe("completed");
  });
});

describe("Cookies that cannot be sealed while Redis is down", () => {
  it("a batch retry and a crawl sent with cookies answer 503, refunded, and never run without them", async () => {
    const { key, accountId } = await stack.createKey(100);
    const submit = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: [site.url("/"), site.url("/status/503")] },
    });
    expect(submit.status, JSON.stringify(submit.body)).toBe(202);
    const first = await pollBatch(stack.api, key, submit.body.batchId);
    expect(first.failedCount).toBe(1);

    await redis.stop("SIGKILL");
    let retriedJob: string;
    try {
      const retry = await within(
        15_000,
        "POST /batch/scrape/:id/retry",
        call<Envelope>(`${stack.api}/batch/scrape/${submit.body.batchId}/retry`, {
          key,
          body: { cookies: "session=abc" },
        }),
      );
      expect(retry.status, JSON.stringify(retry.body)).toBe(503);
      expect(retry.body).toMatchObject({ status: "error", code: "SERVICE_BUSY" });
      const crawl = await within(
        15_000,
        "POST /crawl",
        call<Envelope>(`${stack.api}/crawl`, {
          key,
          body: { baseUrl: site.url("/"), crawlInstruction: "all", maxPages: 2, cookies: "session=abc" },
        }),
      );
      expect(crawl.status, JSON.stringify(crawl.body)).toBe(503);
      // The retried item is a new job, settled as failed with nothing charged.
      const { rows } = await stack.pool.query(
        "select j.id, j.status, j.credits_used::float as credits_used from batch_items i join jobs j on j.id = i.job_id where i.batch_id = $1 and i.position = 1",
        [submit.body.batchId],
      );
      expect(rows[0]).toMatchObject({ status: "failed", credits_used: 0 });
      retriedJob = rows[0].id as string;
      expect(retriedJob).not.toBe(first.items[1]!.jobId);
    } finally {
      await redis.start();
    }
    // With Redis back (and the reconciler running) the item is not run after all.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await statuses([retriedJob])).map((r) => r.status)).toEqual(["failed"]);
    const crawls = await stack.pool.query(
      "select j.status from crawls c join jobs j on j.id = c.id where c.account_id = $1",
      [accountId],
    );
    expect(crawls.rows).toEqual([{ status: "failed" }]);
    // Charged for the batch's first run only: the retry and the crawl were refunded in full.
    expect(await ledgerGap(stack.pool, accountId, 100)).toBe(0);
    const charged = first.items.reduce((n, item) => n + item.creditsUsed, 0);
    const account = await stack.pool.query("select credits_balance::float as b from accounts where id = $1", [
      accountId,
    ]);
    expect(account.rows[0].b).toBe(100 - charged);
  });
});
