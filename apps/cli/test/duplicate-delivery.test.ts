// Duplicate delivery for real: a worker is frozen (SIGSTOP, as a long GC pause or a suspended VM
// would) while its page loads, its BullMQ lock lapses, the stalled job is delivered to a second
// worker, and then the first one wakes up and finishes its now stale run. Its result write must be
// refused (by run token, or because the job is already terminal): one result, one charge.
import { auditJobs, nothingLostProblems, waitFor, type FixtureSite } from "@orbweaver/testkit";
import { beforeAll, describe, expect, it } from "vitest";
import { submitScrape } from "./helpers/http.ts";
import { loggedAboutJob, useWorkerProcesses, type Spawned } from "./helpers/spawn.ts";
import { startPrivatePostgresStack, useStarted, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let stack: TestStack;

useStarted(
  () =>
    startPrivatePostgresStack({
      worker: false,
      env: {
        // A lock that lapses after 2 s without renewal; stalled jobs looked for every second.
        JOB_LOCK_MS: "2000",
        STALLED_INTERVAL_MS: "1000",
        PAGE_TIMEOUT_MS: "30000",
        JOB_TIMEOUT_MS: "60000",
        WORKER_CONCURRENCY: "1",
      },
    }),
  (started) => ({ site, stack } = started),
);
const startWorkerProcess = useWorkerProcesses(() => ({ ...stack.env, LOG_LEVEL: "info" }));

async function jobRow(jobId: string): Promise<{ status: string; attempts: number }> {
  const { rows } = await stack.pool.query("select status, attempts from jobs where id = $1", [jobId]);
  return rows[0] as { status: string; attempts: number };
}

/** Waits until `worker` has logged `msg` about the job at least once. */
async function waitForLog(worker: Spawned, jobId: string, msg: string, message: string): Promise<void> {
  await waitFor(() => loggedAboutJob(worker, jobId, msg) > 0, { timeoutMs: 60_000, intervalMs: 200, message });
}

/** The job completed with nothing lost and was charged once: one reserve of 2 credits in the ledger. */
async function expectOneResultOneCharge(jobId: string, accountId: string): Promise<void> {
  expect(
    await nothingLostProblems(stack.pool, {
      acknowledged: [jobId],
      accountId,
      openingCredits: 10,
      expectCompleted: true,
    }),
  ).toEqual([]);
  const [audit] = await auditJobs(stack.pool, [jobId]);
  expect(audit?.ledger).toEqual({ reserve: { rows: 1, sum: -2 } });
}

const REFUSED = "result refused: another attempt owns this job";
const COMPLETED = "scrape completed";

describe("duplicate delivery after a lapsed lock", () => {
  let first: Spawned;
  let second: Spawned;

  beforeAll(async () => {
    first = startWorkerProcess();
    second = startWorkerProcess();
    await waitFor(
      () => first.output().includes('"msg":"worker ready"') && second.output().includes('"msg":"worker ready"'),
      {
        timeoutMs: 60_000,
        message: "both workers to start",
      },
    );
  });

  it("refuses the stale run's write while the re-delivered run owns the job", async () => {
    const { key, accountId } = await stack.createKey(10);
    // Only the first worker may take the job: the second is frozen while it is submitted.
    second.child.kill("SIGSTOP");
    const jobId = await submitScrape(stack.api, key, site.url("/slow?ms=4000&dup=1"));
    await waitFor(async () => (await jobRow(jobId)).status === "active", {
      timeoutMs: 60_000,
      message: "the first worker to start the job",
    });
    expect((await jobRow(jobId)).attempts).toBe(1);

    // The first worker freezes mid-job; its lock lapses and the second runs the stalled job again.
    first.child.kill("SIGSTOP");
    second.child.kill("SIGCONT");
    await waitFor(async () => (await jobRow(jobId)).attempts >= 2, {
      timeoutMs: 60_000,
      message: "the stalled job to be delivered to the second worker",
    });
    first.child.kill("SIGCONT");

    await waitForLog(first, jobId, REFUSED, "the first worker's stale write to be refused");
    await waitForLog(second, jobId, COMPLETED, "the second worker to complete the job");
    expect((await jobRow(jobId)).status).toBe("completed");
    expect(loggedAboutJob(second, jobId, COMPLETED)).toBe(1);
    expect(loggedAboutJob(first, jobId, COMPLETED)).toBe(0);

    await expectOneResultOneCharge(jobId, accountId);
    const balance = await stack.pool.query("select credits_balance::float as b from accounts where id = $1", [
      accountId,
    ]);
    expect(balance.rows[0]?.b).toBe(8);
  });

  it("refuses the stale run's write after the re-delivered run has finished the job", async () => {
    const { key, accountId } = await stack.createKey(10);
    // This time the second worker takes the job and freezes; the first finishes it meanwhile.
    first.child.kill("SIGSTOP");
    const jobId = await submitScrape(stack.api, key, site.url("/slow?ms=4000&dup=2"));
    await waitFor(async () => (await jobRow(jobId)).status === "active", {
      timeoutMs: 60_000,
      message: "the second worker to start the job",
    });
    second.child.kill("SIGSTOP");
    first.child.kill("SIGCONT");
    await waitForLog(first, jobId, COMPLETED, "the first worker to complete the stalled job");
    expect((await jobRow(jobId)).status).toBe("completed");
    expect((await jobRow(jobId)).attempts).toBeGreaterThanOrEqual(2);
    second.child.kill("SIGCONT");

    await waitForLog(second, jobId, REFUSED, "the second worker's stale write to be refused");
    expect(loggedAboutJob(first, jobId, COMPLETED)).toBe(1);
    expect(loggedAboutJob(second, jobId, COMPLETED)).toBe(0);
    await expectOneResultOneCharge(jobId, accountId);

    // Both workers are healthy after the overlap and stop cleanly.
    first.child.kill("SIGTERM");
    second.child.kill("SIGTERM");
    expect(await first.exited, first.output().slice(-2000)).toBe(0);
    expect(await second.exited, second.output().slice(-2000)).toBe(0);
  });
});
