// Job lifecycle and accounting where the rest of the suite (outside the Redis fault tests, which
// few runs include) does not look, each test written against a mutation that survived it (see
// the mutation audit): a batch cancelled while an item waits for its retry (refunded at once, once);
// the reconciler re-dispatching a scrape the queue lost and giving up one whose attempts are used up
// (refunded once); a batch never having more than BATCH_CONCURRENCY items in flight (on every top-up
// and reconciler pass); a stale run's write refused while a re-delivered run owns the job; a
// duplicate delivery of a finished job changing nothing; and a cancelled batch's failed items
// retried (every retry reserved, the batch reopened without a finish time).
import { finishJob, startJobAttempt } from "@orbweaver/db";
import { createRedisConnection, createScrapeQueue, type ScrapeJobData } from "@orbweaver/queue";
import { waitFor } from "@orbweaver/testkit";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ledgerGap, pollBatch, type BatchBody } from "./helpers/batch.ts";
import { call, pollScrape, submitScrape } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";
import { ledgerOf } from "./helpers/job-rows.ts";

const BATCH_CONCURRENCY = 2;

let stack: TestStack;
let redis: Redis;
let queue: Queue<ScrapeJobData>;

/** A site whose pages answer after `?ms=`, counting how many batch-item requests it holds at once. */
let slow: Server;
let slowOrigin: string;
let inFlight = 0;
let maxInFlight = 0;
const slowHits = new Map<string, number>();
/** Paths that answer 500 (a URL that fails) until taken out. */
const failing = new Set<string>();
/** Jobs (and their pages) cancelled before any worker ran: checked again once one has. */
const cancelledBeforeWorker: string[] = [];
const cancelledPaths: string[] = [];

beforeAll(async () => {
  slow = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    slowHits.set(url.pathname, (slowHits.get(url.pathname) ?? 0) + 1);
    // Only the batch's items (/item-N) count towards the pages held at once.
    let open = url.pathname.startsWith("/item-");
    if (open) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
    }
    const done = () => {
      if (open) inFlight--;
      open = false;
    };
    res.once("close", done);
    if (failing.has(url.pathname)) {
      done();
      res.writeHead(500, { "content-type": "text/html; charset=utf-8" });
      res.end("<html><body><h1>Internal Server Error</h1></body></html>");
      return;
    }
    setTimeout(
      () => {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(
          `<html><head><title>Item ${url.pathname}</title></head><body><h1>Item ${url.pathname}</h1>` +
            "<p>A page of its own, with enough text to be read as a page and not as an error.</p></body></html>",
        );
        done();
      },
      Number(url.searchParams.get("ms") ?? 0),
    );
  });
  await new Promise<void>((resolve) => slow.listen(0, "127.0.0.1", resolve));
  slowOrigin = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
  // No worker at first: jobs wait in the queue, where the test can lose them.
  stack = await startTestStack({
    worker: false,
    // More browser slots than the batch may use: BATCH_CONCURRENCY, not the worker, is what bounds its items.
    env: { RECONCILE_INTERVAL_MS: "1000", BATCH_CONCURRENCY: String(BATCH_CONCURRENCY), WORKER_CONCURRENCY: "4" },
  });
  redis = createRedisConnection(stack.config.redisUrl, "producer");
  queue = createScrapeQueue({ connection: redis, prefix: stack.config.queuePrefix });
});

afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
  await stack?.stop();
  await new Promise((resolve) => slow?.close(resolve));
});

async function jobRow(jobId: string) {
  const { rows } = await stack.pool.query<{
    status: string;
    attempts: number;
    reserved: number;
    used: number;
    error: string | null;
    finished_at: Date | null;
    result: unknown;
  }>(
    `select status, attempts, credits_reserved::float as reserved, credits_used::float as used, error, finished_at, result
       from jobs where id = $1`,
    [jobId],
  );
  return rows[0]!;
}

/** Makes the row look untouched for an hour: the reconciler's next pass looks at it. */
async function age(jobIds: string[], attempts?: number): Promise<void> {
  await stack.pool.query(
    `update jobs set updated_at = now() - interval '1 hour', attempts = coalesce($2, attempts) where id = any($1::uuid[])`,
    [jobIds, attempts ?? null],
  );
}

describe("a batch's next items", () => {
  let own: TestStack;
  beforeAll(async () => {
    // A reconciler that never passes during the test: only the worker's own top-ups dispatch items.
    // (First in the file: the other stack has no worker, so no reconciler of its own, yet.)
    own = await startTestStack({ env: { RECONCILE_INTERVAL_MS: "600000", BATCH_CONCURRENCY: "1" } });
  });
  afterAll(async () => {
    await own?.stop();
  });

  it("are dispatched by the worker as each item ends, not left for the reconciler", async () => {
    const { key, accountId } = await own.createKey(20);
    const urls = [0, 1, 2].map((i) => `${slowOrigin}/next-${i}?ms=200`);
    const submit = await call<{ batchId: string }>(`${own.api}/batch/scrape`, { key, body: { urls } });
    expect(submit.status).toBe(202);
    const done = await pollBatch(own.api, key, submit.body.batchId, 45_000);
    expect(done).toMatchObject({ status: "completed", completedCount: 3, failedCount: 0 });
    for (let i = 0; i < 3; i++) expect(slowHits.get(`/next-${i}`), `item ${i}`).toBe(1);
    expect(await ledgerGap(own.pool, accountId, 20)).toBe(0);
  });
});

describe("a batch cancelled while an item waits for its retry", () => {
  it("cancels and refunds the waiting-to-retry item with the queued ones, at once and once; none of them runs", async () => {
    const { key, accountId } = await stack.createKey(20);
    const urls = [`${slowOrigin}/retrying?ms=0`, `${slowOrigin}/queued?ms=0`];
    const submit = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, { key, body: { urls } });
    expect(submit.status).toBe(202);
    const { rows } = await stack.pool.query<{ id: string; reserved: number }>(
      `select j.id, j.credits_reserved::float as reserved from batch_items i join jobs j on j.id = i.job_id
        where i.batch_id = $1 order by i.position`,
      [submit.body.batchId],
    );
    expect(rows).toHaveLength(2);
    // The first item's attempt failed transiently: it waits for the queue's retry (status delayed).
    await stack.pool.query(
      `update jobs set status = 'delayed', attempts = 1, started_at = now(),
              progress = '{"message": "Retrying after error: The browser closed during the scrape", "progress": 0}'
        where id = $1`,
      [rows[0]!.id],
    );
    const cancel = await call<{ status: string; cancelledItems: number; creditsRefunded: number }>(
      `${stack.api}/batch/scrape/${submit.body.batchId}`,
      { key, method: "DELETE" },
    );
    expect(cancel.status).toBe(200);
    const reserved = rows[0]!.reserved + rows[1]!.reserved;
    expect(cancel.body).toMatchObject({ status: "cancelled", cancelledItems: 2, creditsRefunded: reserved });
    expect(await stack.balance(accountId)).toBe(20);
    const batch = await call<BatchBody>(`${stack.api}/batch/scrape/${submit.body.batchId}`, { key });
    expect(batch.body.items.map((i) => [i.status, i.creditsUsed])).toEqual([
      ["cancelled", 0],
      ["cancelled", 0],
    ]);
    for (const row of rows) {
      expect(await ledgerOf(stack, row.id)).toEqual([
        { reason: "reserve", delta: -row.reserved },
        { reason: "refund", delta: row.reserved },
      ]);
    }
    cancelledBeforeWorker.push(...rows.map((r) => r.id));
    cancelledPaths.push("/retrying", "/queued");
    expect(await ledgerGap(stack.pool, accountId, 20)).toBe(0);
  });
});

describe("jobs the queue lost, and a batch's items in flight", () => {
  it("re-dispatches a lost scrape (charged once), gives up one out of attempts (refunded once), and keeps a batch within BATCH_CONCURRENCY", async () => {
    const opening = 100;
    const { key, accountId } = await stack.createKey(opening);
    const lostPath = "/lost-and-found?ms=0";
    const givenUpPath = "/given-up?ms=0";
    const lost = await submitScrape(stack.api, key, `${slowOrigin}${lostPath}`);
    const givenUp = await submitScrape(stack.api, key, `${slowOrigin}${givenUpPath}`);
    // The queue loses both (a flush); the second has had every attempt the reconciler allows.
    for (const id of [lost, givenUp]) {
      const bullJob = await queue.getJob(id);
      expect(bullJob, id).toBeDefined();
      await bullJob!.remove();
    }
    await age([lost]);
    await age([givenUp], stack.config.jobs.attempts + 2);

    // A batch of slow items: BATCH_CONCURRENCY of them dispatched at submit, the rest waiting for a
    // slot. Those waiting were never dispatched, so they were not lost, however old.
    // Of different lengths, so that items end one at a time and each top-up finds others in flight.
    const items = Array.from({ length: 6 }, (_, i) => `${slowOrigin}/item-${i}?ms=${1000 + (i % 2) * 1500}`);
    const batch = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, { key, body: { urls: items } });
    expect(batch.status).toBe(202);
    const { rows: batchJobs } = await stack.pool.query<{ id: string }>("select id from jobs where batch_id = $1", [
      batch.body.batchId,
    ]);
    expect(batchJobs).toHaveLength(items.length);
    await age(batchJobs.map((j) => j.id));

    await stack.startWorker();
    const found = await pollScrape(stack.api, key, lost, 60_000);
    expect(found.final.status, JSON.stringify(found.final)).toBe("completed");
    const gaveUp = await pollScrape(stack.api, key, givenUp, 60_000);
    expect(gaveUp.final.status).toBe("failed");
    expect(gaveUp.final.error).toMatch(/interrupted \d+ times and was given up/);
    const done = await pollBatch(stack.api, key, batch.body.batchId);
    expect(done).toMatchObject({ status: "completed", completedCount: items.length, failedCount: 0 });

    // Re-dispatched once, run once, charged its reservation.
    const lostRow = await jobRow(lost);
    expect(lostRow).toMatchObject({ status: "completed", attempts: 1 });
    expect(lostRow.used).toBe(lostRow.reserved);
    expect(await ledgerOf(stack, lost)).toEqual([{ reason: "reserve", delta: -lostRow.reserved }]);
    expect(slowHits.get("/lost-and-found")).toBe(1);
    // Given up without running again: failed, nothing charged, its reservation refunded once.
    const givenUpRow = await jobRow(givenUp);
    expect(givenUpRow).toMatchObject({ status: "failed", used: 0 });
    expect(await ledgerOf(stack, givenUp)).toEqual([
      { reason: "reserve", delta: -givenUpRow.reserved },
      { reason: "refund", delta: givenUpRow.reserved },
    ]);
    expect(slowHits.get("/given-up") ?? 0).toBe(0);
    // The batch: every item loaded once, never more than BATCH_CONCURRENCY at once.
    for (let i = 0; i < items.length; i++) expect(slowHits.get(`/item-${i}`), `item ${i}`).toBe(1);
    expect(maxInFlight).toBeLessThanOrEqual(BATCH_CONCURRENCY);
    expect(maxInFlight).toBeGreaterThan(0);
    expect(await ledgerGap(stack.pool, accountId, opening)).toBe(0);
    // The items cancelled before the worker started stayed cancelled, refunded once, never loaded.
    for (const id of cancelledBeforeWorker) {
      expect(await jobRow(id)).toMatchObject({ status: "cancelled", used: 0 });
      expect((await ledgerOf(stack, id)).map((l) => l.reason)).toEqual(["reserve", "refund"]);
    }
    for (const path of cancelledPaths) expect(slowHits.get(path) ?? 0, path).toBe(0);
  });

  it("refuses a stale run's result while a re-delivered run owns the job: no result, no charge from it", async () => {
    const { key, accountId } = await stack.createKey(10);
    const jobId = await submitScrape(stack.api, key, `${slowOrigin}/fenced?ms=2000`);
    await waitFor(async () => (await jobRow(jobId)).status === "active" && (slowHits.get("/fenced") ?? 0) > 0, {
      timeoutMs: 30_000,
      intervalMs: 50,
      message: "the worker to start loading the page",
    });
    // Meanwhile the job is delivered again (its lock lapsed): the second delivery claims it, as a
    // second worker would, and now owns it.
    const second = await startJobAttempt(stack.db, jobId);
    expect(second?.attempts).toBe(2);
    // The first run ends (its page answered): its write is refused, the job stays the second run's.
    const bullJob = await queue.getJob(jobId);
    await waitFor(async () => ["completed", "failed"].includes(await bullJob!.getState()), {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: "the first run to end",
    });
    const during = await jobRow(jobId);
    expect(during).toMatchObject({ status: "active", attempts: 2, used: 0, result: null });
    expect(await ledgerOf(stack, jobId)).toEqual([{ reason: "reserve", delta: -during.reserved }]);

    // The second run settles it: its outcome is the one the client sees, charged (here refunded) once.
    expect(
      await finishJob(stack.db, {
        jobId,
        runToken: second!.runToken,
        status: "failed",
        error: "the second run failed",
        creditsUsed: 0,
      }),
    ).toBe(true);
    const final = await pollScrape(stack.api, key, jobId);
    expect(final.final).toMatchObject({ status: "failed", error: "the second run failed", result: null });
    expect(await ledgerOf(stack, jobId)).toEqual([
      { reason: "reserve", delta: -during.reserved },
      { reason: "refund", delta: during.reserved },
    ]);
    expect(await stack.balance(accountId)).toBe(10);
    expect(await ledgerGap(stack.pool, accountId, 10)).toBe(0);
  });

  it("a duplicate delivery of a finished scrape changes nothing: not run, written or charged again", async () => {
    const { key, accountId } = await stack.createKey(10);
    const jobId = await submitScrape(stack.api, key, `${slowOrigin}/delivered-twice?ms=0`);
    const first = await pollScrape(stack.api, key, jobId, 60_000);
    expect(first.final.status).toBe("completed");
    const before = await jobRow(jobId);
    const ledgerBefore = await ledgerOf(stack, jobId);
    const balanceBefore = await stack.balance(accountId);
    const hitsBefore = slowHits.get("/delivered-twice");

    // The same job delivered again (a stalled lock, a re-dispatch racing the ack), under another queue id.
    const again = await queue.add("scrape", { jobId }, { jobId: `${jobId}-again` });
    await waitFor(async () => ["completed", "failed"].includes(await again.getState()), {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: "the second delivery to be processed",
    });

    // And the reconciler giving it up at that moment (it read the job as unfinished just before the
    // result was written; it settles whatever attempt owns the job) is refused too.
    expect(
      await finishJob(stack.db, { jobId, runToken: null, status: "failed", error: "given up", creditsUsed: 0 }),
    ).toBe(false);

    const after = await jobRow(jobId);
    expect(after).toEqual(before);
    expect(await ledgerOf(stack, jobId)).toEqual(ledgerBefore);
    expect(await stack.balance(accountId)).toBe(balanceBefore);
    expect(slowHits.get("/delivered-twice")).toBe(hitsBefore);
    expect(await ledgerGap(stack.pool, accountId, 10)).toBe(0);
  });
});

describe("a cancelled batch's failed items retried", () => {
  it("reserves every retried item (balance and ledger agree), reopens the batch without a finish time, and finishes it again", async () => {
    const opening = 30;
    const { key, accountId } = await stack.createKey(opening);
    failing.add("/flaky-a");
    failing.add("/flaky-b");
    // Failing at first; once retried they take two seconds, so the reopened batch is seen running.
    const urls = [`${slowOrigin}/flaky-a?ms=2000`, `${slowOrigin}/flaky-b?ms=2000`, `${slowOrigin}/hold?ms=3000`];
    const submit = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, { key, body: { urls } });
    expect(submit.status).toBe(202);
    const { batchId } = submit.body;
    const poll = async () => (await call<BatchBody>(`${stack.api}/batch/scrape/${batchId}`, { key })).body;
    await waitFor(
      async () => {
        const b = await poll();
        return b.items[0]!.status === "failed" && b.items[1]!.status === "failed" && b.items[2]!.status === "running";
      },
      { timeoutMs: 30_000, intervalMs: 100, message: "both flaky items to fail while the third runs" },
    );
    const cancel = await call<{ cancelledItems: number }>(`${stack.api}/batch/scrape/${batchId}`, {
      key,
      method: "DELETE",
    });
    expect(cancel.status).toBe(200);
    const cancelled = await waitFor(
      async () => {
        const b = await poll();
        return b.items[2]!.status === "completed" ? b : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, message: "the running item to finish" },
    );
    expect(cancelled).toMatchObject({ status: "cancelled" });
    expect(cancelled.finishedAt).not.toBeNull();

    failing.delete("/flaky-a");
    failing.delete("/flaky-b");
    const retried = await call<{ retriedCount: number }>(`${stack.api}/batch/scrape/${batchId}/retry`, {
      key,
      body: {},
    });
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ retriedCount: 2 });
    // Both retried items are reserved: the balance moved as far as the ledger says.
    expect(await ledgerGap(stack.pool, accountId, opening)).toBeGreaterThan(0);
    const reopened = await poll();
    expect(reopened.status).toBe("running");
    expect(reopened.finishedAt).toBeNull();

    const done = await pollBatch(stack.api, key, batchId);
    expect(done).toMatchObject({ status: "completed", completedCount: 3, failedCount: 0 });
    const lastItem = done.items.map((i) => i.finishedAt!).sort()[2];
    expect(done.finishedAt).toBe(lastItem);
    expect(await ledgerGap(stack.pool, accountId, opening)).toBe(0);
  });
});

describe("a transient failure on the last attempt", () => {
  let own: TestStack;
  beforeAll(async () => {
    own = await startTestStack({ env: { JOB_ATTEMPTS: "1", PAGE_TIMEOUT_MS: "20000" } });
  });
  afterAll(async () => {
    await own?.stop();
  });

  it("fails the job at once, refunded, rather than leaving it waiting for a retry the queue will not make", async () => {
    const { key, accountId } = await own.createKey(10);
    // A screenshot keeps the page in Chromium, which then dies under it (a transient failure).
    const submit = await call<{ jobId: string }>(`${own.api}/scrape`, {
      key,
      body: { urls: [{ url: `${slowOrigin}/crash?ms=8000` }], screenshot: true },
    });
    expect(submit.status).toBe(202);
    const { jobId } = submit.body;
    await waitFor(
      async () =>
        (await own.pool.query("select status from jobs where id = $1", [jobId])).rows[0]?.status === "active" &&
        (slowHits.get("/crash") ?? 0) > 0,
      { timeoutMs: 30_000, intervalMs: 50, message: "the page to start loading" },
    );
    const pool = own.workers[0]!.pool;
    process.kill(await waitFor(() => pool.pid(), { timeoutMs: 5000 }), "SIGKILL");
    const { final } = await pollScrape(own.api, key, jobId, 30_000);
    expect(final.status).toBe("failed");
    expect(final.error).toBeTruthy();
    const { rows } = await own.pool.query<{ reason: string; delta: number }>(
      "select reason, delta::float as delta from credit_ledger where job_id = $1 order by id",
      [jobId],
    );
    expect(rows.map((r) => r.reason)).toEqual(["reserve", "refund"]);
    expect(await own.balance(accountId)).toBe(10);
  });
});
