import { createRedisConnection, createScrapeQueue } from "@orbweaver/queue";
import { waitFor, type FixtureSite } from "@orbweaver/testkit";
import { describe, expect, it } from "vitest";
import { ledgerGap, pollBatch } from "./helpers/batch.ts";
import { call, pollScrape } from "./helpers/http.ts";
import { useWorkerProcesses } from "./helpers/spawn.ts";
import { startSiteAndStack, useStarted, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let stack: TestStack;

// Short locks so a dead worker's job is noticed within seconds.
const fastStalls = {
  JOB_LOCK_MS: "3000",
  STALLED_INTERVAL_MS: "2000",
  PAGE_TIMEOUT_MS: "20000",
  SHUTDOWN_TIMEOUT_MS: "20000",
};

useStarted(
  () => startSiteAndStack({ worker: false, env: fastStalls }),
  (started) => ({ site, stack } = started),
);

const startWorkerProcess = useWorkerProcesses(() => stack.env);

async function waitForStatus(jobId: string, status: string) {
  await waitFor(
    async () => (await stack.pool.query("select status from jobs where id = $1", [jobId])).rows[0]?.status === status,
    { timeoutMs: 30_000, message: `job ${jobId} to be ${status}` },
  );
}

describe("worker processes", () => {
  it("completes a job whose worker was killed mid-job on another worker, charging once", async () => {
    const { key, accountId } = await stack.createKey(10);
    const first = startWorkerProcess();
    const submit = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      body: { urls: [{ url: site.url("/slow?ms=6000") }] },
    });
    expect(submit.status).toBe(202);
    await waitForStatus(submit.body.jobId, "active");
    first.child.kill("SIGKILL");
    expect(await first.exited).toBeNull();

    const second = startWorkerProcess();
    const { final } = await pollScrape(stack.api, key, submit.body.jobId, 60_000);
    expect(final.status, JSON.stringify(final)).toBe("completed");
    const row = (await stack.pool.query("select attempts from jobs where id = $1", [submit.body.jobId])).rows[0];
    expect(row.attempts).toBeGreaterThanOrEqual(2);
    const ledger = await stack.pool.query(
      "select reason, delta::float from credit_ledger where job_id = $1 order by id",
      [submit.body.jobId],
    );
    expect(ledger.rows).toEqual([{ reason: "reserve", delta: -2 }]);
    const balance = await stack.pool.query("select credits_balance::float as b from accounts where id = $1", [
      accountId,
    ]);
    expect(balance.rows[0].b).toBe(8);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });

  it("completes a batch whose worker was killed mid-batch, and the ledger balances", async () => {
    const { key, accountId } = await stack.createKey(20);
    const first = startWorkerProcess();
    const urls = [0, 1, 2, 3].map((n) => site.url(`/slow?ms=2500&n=${n}`));
    const submit = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, { key, body: { urls } });
    expect(submit.status).toBe(202);
    await waitFor(
      async () =>
        (
          await stack.pool.query("select count(*)::int as n from jobs where batch_id = $1 and status = 'active'", [
            submit.body.batchId,
          ])
        ).rows[0]?.n > 0,
      { timeoutMs: 30_000, message: "a batch item to start" },
    );
    first.child.kill("SIGKILL");
    await first.exited;
    const second = startWorkerProcess();
    const done = await pollBatch(stack.api, key, submit.body.batchId, 120_000);
    expect(done.status).toBe("completed");
    expect(done.completedCount).toBe(4);
    expect(await ledgerGap(stack.pool, accountId, 20)).toBe(0);
    const charges = await stack.pool.query(
      "select count(*)::int as n from credit_ledger l join jobs j on j.id = l.job_id where j.batch_id = $1 and l.reason = 'reserve'",
      [submit.body.batchId],
    );
    expect(charges.rows[0].n).toBe(4);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });

  it("finishes the running job on SIGTERM and exits 0", async () => {
    const { key } = await stack.createKey(10);
    const worker = startWorkerProcess();
    const submit = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      body: { urls: [{ url: site.url("/slow?ms=3000") }] },
    });
    await waitForStatus(submit.body.jobId, "active");
    worker.child.kill("SIGTERM");
    expect(await worker.exited, worker.output()).toBe(0);
    const row = (await stack.pool.query("select status from jobs where id = $1", [submit.body.jobId])).rows[0];
    expect(row.status).toBe("completed");
  });

  it("on SIGTERM hands jobs still waiting for a browser slot back to the queue unclaimed; another worker runs them", async () => {
    const { key, accountId } = await stack.createKey(20);
    const redis = createRedisConnection(stack.config.redisUrl, "producer");
    const queue = createScrapeQueue({ connection: redis, prefix: stack.config.queuePrefix });
    try {
      const worker = startWorkerProcess();
      // WORKER_CONCURRENCY is 2: two jobs load their pages, the worker takes two more that wait for a slot.
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const submit = await call<{ jobId: string }>(`${stack.api}/scrape`, {
          key,
          body: { urls: [{ url: site.url(`/slow?ms=4000&n=${i}`) }] },
        });
        expect(submit.status).toBe(202);
        ids.push(submit.body.jobId);
      }
      await waitFor(
        async () => (await Promise.all(ids.map((id) => queue.getJobState(id)))).every((s) => s === "active"),
        { timeoutMs: 30_000, message: "the worker to take all four jobs" },
      );
      const statuses = async () =>
        (await stack.pool.query("select id, status, attempts from jobs where id = any($1)", [ids])).rows;
      // Two claimed (their pages loading), two taken but unclaimed: nothing is written for them yet.
      await waitFor(async () => (await statuses()).filter((r) => r.status === "active").length === 2, {
        timeoutMs: 30_000,
        message: "two jobs to be claimed",
      });
      expect((await statuses()).filter((r) => r.status === "waiting")).toHaveLength(2);
      worker.child.kill("SIGTERM");
      expect(await worker.exited, worker.output()).toBe(0);
      const after = await statuses();
      expect(after.filter((r) => r.status === "completed")).toHaveLength(2);
      const handedBack = after.filter((r) => r.status === "waiting");
      expect(handedBack).toHaveLength(2);
      for (const r of handedBack) {
        expect(r.attempts).toBe(0);
        expect(await queue.getJobState(r.id)).toBe("waiting");
      }

      const second = startWorkerProcess();
      for (const id of ids) {
        const { final } = await pollScrape(stack.api, key, id, 60_000);
        expect(final.status, JSON.stringify(final)).toBe("completed");
      }
      expect((await statuses()).map((r) => r.attempts)).toEqual([1, 1, 1, 1]);
      const charges = await stack.pool.query(
        "select count(*)::int as n from credit_ledger where account_id = $1 and reason = 'reserve'",
        [accountId],
      );
      expect(charges.rows[0].n).toBe(4);
      expect(await ledgerGap(stack.pool, accountId, 20)).toBe(0);
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    } finally {
      await queue.close();
      redis.disconnect();
    }
  });
});
