// A single scrape is dispatched while the gateway writes its row, so a worker can take the job before
// the row is visible. The worker must wait for the row (not drop the job), stop at once when the
// gateway takes the job back (a refused submit), and give up on a row that never comes.
import { normalizeScrapeRequest } from "@orbweaver/contract";
import { createScrapeJobs, getInstanceSecret } from "@orbweaver/db";
import {
  createJobSecretsStore,
  createRedisConnection,
  createScrapeQueue,
  enqueueScrapeJob,
  withdrawScrapeJob,
} from "@orbweaver/queue";
import { waitFor, type FixtureSite } from "@orbweaver/testkit";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollScrape } from "./helpers/http.ts";
import { loggedAboutJob, useWorkerProcesses, type Spawned } from "./helpers/spawn.ts";
import { startSiteAndStack, useStarted, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let stack: TestStack;
useStarted(
  () => startSiteAndStack({ worker: false }),
  (started) => ({ site, stack } = started),
);
const startWorkerProcess = useWorkerProcesses(() => ({ ...stack.env, LOG_LEVEL: "info", WORKER_CONCURRENCY: "1" }));

const DROPPED = "a dispatched job's row never appeared; dropped";

let redis: Redis;
let queue: Queue<{ jobId: string }>;
let worker: Spawned;
beforeAll(() => {
  redis = createRedisConnection(stack.config.redisUrl, "producer");
  queue = createScrapeQueue({ connection: redis, prefix: stack.config.queuePrefix });
  worker = startWorkerProcess();
});
afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
});

/** Dispatches a job id the way the gateway does, with no row behind it yet. */
async function dispatch(jobId: string, opts: { timestamp?: number } = {}): Promise<void> {
  await queue.add("scrape", { jobId }, { jobId, ...opts });
}

async function stateOf(jobId: string): Promise<string> {
  const job = await queue.getJob(jobId);
  return job ? await job.getState() : "missing";
}

/** Dispatches a job 11 s old with no row, and waits until the worker has dropped it with its warning. */
async function dispatchOverdue(jobId: string, timeoutMs: number): Promise<void> {
  await dispatch(jobId, { timestamp: Date.now() - 11_000 });
  await waitFor(async () => (await stateOf(jobId)) === "completed", {
    timeoutMs,
    message: "the overdue job to be dropped",
  });
  await waitFor(() => loggedAboutJob(worker, jobId, DROPPED) === 1, {
    timeoutMs: 5_000,
    message: "the worker's warning",
  });
}

describe("a job dispatched before its row is written", () => {
  it("is run once its row appears, not dropped", async () => {
    const { key, accountId } = await stack.createKey(10);
    // Dispatched once the worker runs: a worker still booting 10 s after the dispatch would rightly
    // drop the job as overdue before its row is written.
    await waitFor(() => worker.output().includes('"msg":"worker ready"'), {
      timeoutMs: 60_000,
      message: "the worker to be ready",
    });
    const jobId = randomUUID();
    await dispatch(jobId);
    // The worker (booting, then taking the job) waits on the missing row.
    await waitFor(async () => (await stateOf(jobId)) === "active", {
      timeoutMs: 60_000,
      message: "the worker to take the job",
    });
    await new Promise((r) => setTimeout(r, 500));
    const request = normalizeScrapeRequest({ urls: [{ url: site.url("/") }] });
    const [created] = await createScrapeJobs(stack.db, [
      { id: jobId, accountId, request, creditsToReserve: 1, maxPendingJobs: 10 },
    ]);
    expect(created).toEqual({ ok: true, jobId });
    const { final } = await pollScrape(stack.api, key, jobId, 45_000);
    expect(final.status).toBe("completed");
    expect(final.result!.content).toContain("Welcome to Fixture Times");
    const attempts = await stack.pool.query("select attempts from jobs where id = $1", [jobId]);
    expect(attempts.rows[0]).toEqual({ attempts: 1 });
    expect(loggedAboutJob(worker, jobId, DROPPED)).toBe(0);
  });

  it("is let go at once when the gateway withdraws it (a refused submit)", async () => {
    const jobId = randomUUID();
    await dispatch(jobId);
    await waitFor(async () => (await stateOf(jobId)) === "active", { timeoutMs: 30_000, message: "an active job" });
    await withdrawScrapeJob(queue, { redis, prefix: stack.config.queuePrefix, jobId });
    // Well before the worker's own limit (10 s from the dispatch) ends its wait.
    await waitFor(async () => (await stateOf(jobId)) === "completed", {
      timeoutMs: 5_000,
      intervalMs: 50,
      message: "the withdrawn job to be let go",
    });
    expect(loggedAboutJob(worker, jobId, DROPPED)).toBe(0);
    const rows = await stack.pool.query("select count(*)::int as n from jobs where id = $1", [jobId]);
    expect(rows.rows[0]).toEqual({ n: 0 });
  });

  it("is removed from the queue when withdrawn before a worker takes it", async () => {
    const jobId = randomUUID();
    await queue.add("scrape", { jobId }, { jobId, delay: 60_000 });
    await withdrawScrapeJob(queue, { redis, prefix: stack.config.queuePrefix, jobId });
    expect(await stateOf(jobId)).toBe("missing");
  });

  it("is dropped, with a warning, once its row is overdue", async () => {
    const jobId = randomUUID();
    await dispatchOverdue(jobId, 10_000);
  });

  it("keeps its sealed cookies when dropped: a row written later, dispatched again, runs with them", async () => {
    const { key, accountId } = await stack.createKey(10);
    const jobId = randomUUID();
    // Sealed the way the gateway seals a submit's cookies, before the dispatch.
    const secret = await getInstanceSecret(stack.db, stack.config.secret);
    const secrets = createJobSecretsStore({ redis, prefix: stack.config.queuePrefix, secret });
    await secrets.put(jobId, { header: "session=written-late" });
    await dispatchOverdue(jobId, 30_000);
    // The row arrives after the worker gave up on it.
    const request = normalizeScrapeRequest({ urls: [{ url: site.url("/cookies") }] });
    request.withCookies = true;
    const [created] = await createScrapeJobs(stack.db, [
      { id: jobId, accountId, request, creditsToReserve: 1, maxPendingJobs: 10 },
    ]);
    expect(created).toEqual({ ok: true, jobId });
    // What the reconciler does with an unfinished row whose queue entry has ended (its pass, over
    // every such row of the shared test database, is tested in the fault tests).
    await (await queue.getJob(jobId))?.remove();
    await enqueueScrapeJob(queue, jobId);
    const { final } = await pollScrape(stack.api, key, jobId, 30_000);
    expect(final.status, final.error ?? "").toBe("completed");
    expect(final.result!.content).toContain("session=written-late");
    // Deleted once the job ended.
    expect(await secrets.get(jobId)).toBeUndefined();
  });
});
