// Postgres stops while jobs are writing their results: the worker holds finished results and writes
// them once the database is back (no job is marked done in the queue before its row is written, no
// double charge), the worker process survives, and the gateway answers 503 in the envelope rather
// than 500 or a hang. A private Postgres cluster is stopped and started; the shared one is untouched.
import { createRedisConnection, createScrapeQueue } from "@orbweaver/queue";
import { nothingLostProblems, waitFor, within, type FixtureSite, type PostgresServer } from "@orbweaver/testkit";
import { describe, expect, it } from "vitest";
import { pollBatch } from "./helpers/batch.ts";
import { call, pollScrape } from "./helpers/http.ts";
import { useWorkerProcesses } from "./helpers/spawn.ts";
import { startPrivatePostgresStack, useStarted, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let postgres: PostgresServer;
let stack: TestStack;

useStarted(
  () =>
    startPrivatePostgresStack({
      worker: false,
      env: {
        JOB_LOCK_MS: "2000",
        STALLED_INTERVAL_MS: "2000",
        RECONCILE_INTERVAL_MS: "1000",
        WORKER_CONCURRENCY: "3",
        BATCH_CONCURRENCY: "2",
        PAGE_TIMEOUT_MS: "20000",
      },
    }),
  (started) => ({ site, postgres, stack } = started),
);
const startWorkerProcess = useWorkerProcesses(() => ({ ...stack.env, LOG_LEVEL: "warn" }));

interface Envelope {
  status: string;
  message: string;
  error: string;
  code?: string;
  retry_after?: number;
}

async function statuses(jobIds: string[]): Promise<Array<{ id: string; status: string }>> {
  const { rows } = await stack.pool.query("select id, status from jobs where id = any($1::uuid[])", [jobIds]);
  return rows as Array<{ id: string; status: string }>;
}

describe("Postgres stopped during result writes", () => {
  it("writes every result once the database is back, charges once, and the gateway answers 503 meanwhile", async () => {
    // The worker runs as its own process, as in production, so "it survives" means the process lives on.
    const worker = startWorkerProcess();
    const queueConnection = createRedisConnection(stack.config.redisUrl, "producer");
    const queue = createScrapeQueue({ connection: queueConnection, prefix: stack.config.queuePrefix });
    try {
      const { key, accountId } = await stack.createKey(100);
      const scrapes: string[] = [];
      for (let n = 0; n < 3; n++) {
        const res = await call<{ jobId: string }>(`${stack.api}/scrape`, {
          key,
          body: { urls: [{ url: site.url(`/slow?ms=3000&pg=${n}`) }] },
        });
        expect(res.status, JSON.stringify(res.body)).toBe(202);
        scrapes.push(res.body.jobId);
      }
      const batchRes = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
        key,
        body: { urls: [0, 1, 2].map((n) => site.url(`/slow?ms=3000&pgbatch=${n}`)) },
      });
      expect(batchRes.status, JSON.stringify(batchRes.body)).toBe(202);
      const items = await stack.pool.query("select job_id from batch_items where batch_id = $1", [
        batchRes.body.batchId,
      ]);
      const acknowledged = [...scrapes, ...items.rows.map((r) => r.job_id as string)];

      // Stop the database while pages load, so their result writes meet the outage.
      await waitFor(async () => (await statuses(acknowledged)).filter((r) => r.status === "active").length >= 2, {
        timeoutMs: 60_000,
        message: "two jobs to start (worker boot included)",
      });
      const terminalBefore = new Set(
        (await statuses(acknowledged)).filter((r) => r.status !== "active" && r.status !== "waiting").map((r) => r.id),
      );
      await postgres.stop("fast");

      // The gateway: 503 in the envelope for anything that needs the database, never 500 or a hang.
      const submit = await within(
        15_000,
        "POST /scrape",
        call<Envelope>(`${stack.api}/scrape`, { key, body: { urls: [{ url: site.url("/") }] } }),
      );
      expect(submit.status, JSON.stringify(submit.body)).toBe(503);
      expect(submit.body).toMatchObject({ status: "error", code: "SERVICE_BUSY", retry_after: 5 });
      expect(submit.body.message).toBe(submit.body.error);
      expect(submit.body.message).not.toMatch(/ECONNREFUSED|postgres|select|terminat/i);
      const poll = await within(
        15_000,
        "GET /scrape/:id",
        call<Envelope>(`${stack.api}/scrape/${scrapes[0]}`, { key }),
      );
      expect(poll.status).toBe(503);
      expect(poll.body).toMatchObject({ status: "error", code: "SERVICE_BUSY" });
      const ready = await within(15_000, "GET /ready", call<{ postgres: string }>(`${stack.origin}/ready`));
      expect(ready.status).toBe(503);
      expect(ready.body.postgres).toBe("unavailable");
      expect((await within(15_000, "GET /health", call(`${stack.origin}/health`))).status).toBe(200);

      // While the database is down no job may be marked done in the queue: sample the queue's
      // completed set until the worker has met the outage with a finished result in hand.
      const completedDuringOutage = new Set<string>();
      await waitFor(
        async () => {
          for (const job of await queue.getJobs(["completed"])) if (job.id) completedDuringOutage.add(job.id);
          return worker.output().includes("the result write will be retried");
        },
        { timeoutMs: 30_000, intervalMs: 200, message: "a result write to meet the outage" },
      );
      for (let i = 0; i < 10; i++) {
        for (const job of await queue.getJobs(["completed"])) if (job.id) completedDuringOutage.add(job.id);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect([...completedDuringOutage].filter((id) => !terminalBefore.has(id))).toEqual([]);
      expect(worker.child.exitCode, worker.output()).toBeNull();

      await postgres.start();

      await waitFor(
        async () => (await statuses(acknowledged)).every((r) => ["completed", "failed"].includes(r.status)),
        { timeoutMs: 90_000, intervalMs: 250, message: "every acknowledged job to finish after recovery" },
      );
      expect(await nothingLostProblems(stack.pool, { acknowledged, expectCompleted: true })).toEqual([]);
      const done = await pollBatch(stack.api, key, batchRes.body.batchId, 30_000);
      expect(done).toMatchObject({ status: "completed", completedCount: 3 });
      // The submit refused during the outage never reached the database: nothing reserved for it.
      const jobsOfAccount = await stack.pool.query("select count(*)::int as n from jobs where account_id = $1", [
        accountId,
      ]);
      expect(jobsOfAccount.rows[0]?.n).toBe(acknowledged.length);
      expect(
        await nothingLostProblems(stack.pool, { acknowledged, accountId, openingCredits: 100, expectCompleted: true }),
      ).toEqual([]);

      // The worker survived the outage: still running, and it takes new work.
      expect(worker.child.exitCode, worker.output()).toBeNull();
      const next = await call<{ jobId: string }>(`${stack.api}/scrape`, {
        key,
        body: { urls: [{ url: site.url("/") }] },
      });
      expect(next.status).toBe(202);
      const { final } = await pollScrape(stack.api, key, next.body.jobId, 60_000);
      expect(final.status, JSON.stringify(final)).toBe("completed");
      worker.child.kill("SIGTERM");
      expect(await worker.exited, worker.output()).toBe(0);
    } finally {
      await queue.close();
      queueConnection.disconnect();
    }
  });
});
