// Reliability audit ("nothing lost"): every acknowledged job ends once, with one result and one
// ledger entry per charge, also when faults meet each other (a cancel during a retry, …).
import { waitFor, type FixtureSite } from "@orbweaver/testkit";
import { describe, expect, it } from "vitest";
import { ledgerGap } from "./helpers/batch.ts";
import { call, pollScrape } from "./helpers/http.ts";
import { useWorkerProcesses } from "./helpers/spawn.ts";
import { startSiteAndStack, startTestStack, useStarted, type TestStack } from "./helpers/stack.ts";
import { jobRow, ledgerOf } from "./helpers/job-rows.ts";

let site: FixtureSite;
let stack: TestStack;

useStarted(
  () => startSiteAndStack({ env: { PAGE_TIMEOUT_MS: "20000" } }),
  (started) => ({ site, stack } = started),
);

describe("a batch cancelled while an item is being retried", () => {
  it("the running item whose attempt crashed after the cancel is cancelled and refunded, not run and billed again", async () => {
    const { key, accountId } = await stack.createKey(10);
    const path = "/slow?ms=8000&n=cancel-during-retry";
    // A screenshot keeps the page in Chromium (a static page is otherwise read over plain HTTP).
    const submit = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: [site.url(path)], screenshot: true },
    });
    expect(submit.status).toBe(202);
    const { rows } = await stack.pool.query<{ id: string }>("select id from jobs where batch_id = $1", [
      submit.body.batchId,
    ]);
    const jobId = rows[0]!.id;
    await waitFor(async () => (await jobRow(stack, jobId))?.status === "active" && site.hits(path) > 0, {
      timeoutMs: 30_000,
      message: "the item to start loading its page",
    });
    // Cancelled while the item runs: a running item is let finish (and billed when it does).
    const cancel = await call<{ cancelledItems: number; creditsRefunded: number }>(
      `${stack.api}/batch/scrape/${submit.body.batchId}`,
      { key, method: "DELETE" },
    );
    expect(cancel.status).toBe(200);
    expect(cancel.body).toMatchObject({ cancelledItems: 0, creditsRefunded: 0 });
    // Its attempt then crashes (Chromium dies): a retry would be a new run after the cancel.
    const pool = stack.workers[0]!.pool;
    process.kill(await waitFor(() => pool.pid(), { timeoutMs: 5000 }), "SIGKILL");
    await waitFor(
      async () => ["completed", "failed", "cancelled"].includes((await jobRow(stack, jobId))?.status ?? ""),
      {
        timeoutMs: 60_000,
        message: "the item to end",
      },
    );
    const row = await jobRow(stack, jobId);
    expect(row, JSON.stringify(row)).toMatchObject({ status: "cancelled", credits_used: 0 });
    expect(await ledgerOf(stack, jobId)).toEqual([
      { reason: "reserve", delta: -2 },
      { reason: "refund", delta: 2 },
    ]);
    expect(await stack.balance(accountId)).toBe(10);
    expect(await ledgerGap(stack.pool, accountId, 10)).toBe(0);
    // The page was not loaded again after the cancel.
    expect(site.hits(path)).toBe(1);
    const batch = await call<{ status: string; items: Array<{ status: string; creditsUsed: number }> }>(
      `${stack.api}/batch/scrape/${submit.body.batchId}`,
      { key },
    );
    expect(batch.body.status).toBe("cancelled");
    expect(batch.body.items).toMatchObject([{ status: "cancelled", creditsUsed: 0 }]);
  });
});

describe("SIGTERM past SHUTDOWN_TIMEOUT_MS while a job loads its page", () => {
  // Worker processes of their own; short locks so a stopped worker's job is taken over within seconds.
  let procStack: TestStack;
  useStarted(
    () =>
      startTestStack({
        worker: false,
        env: { JOB_LOCK_MS: "3000", STALLED_INTERVAL_MS: "2000", PAGE_TIMEOUT_MS: "20000", SHUTDOWN_TIMEOUT_MS: "500" },
      }),
    (started) => (procStack = started),
  );
  const startWorkerProcess = useWorkerProcesses(() => procStack.env);

  it.each([
    ["over plain HTTP", false],
    ["in Chromium", true],
  ])("%s: the job is taken over by another worker and completes, charged once", async (_name, browser) => {
    const { key, accountId } = await procStack.createKey(10);
    const path = `/slow?ms=6000&n=forced-stop-${browser ? "browser" : "http"}`;
    const first = startWorkerProcess();
    const submit = await call<{ jobId: string }>(`${procStack.api}/scrape`, {
      key,
      body: { urls: [{ url: site.url(path) }], ...(browser ? { screenshot: true } : {}) },
    });
    expect(submit.status).toBe(202);
    const jobId = submit.body.jobId;
    await waitFor(
      async () =>
        (await procStack.pool.query("select status from jobs where id = $1", [jobId])).rows[0]?.status === "active" &&
        site.hits(path) > 0,
      { timeoutMs: 30_000, message: "the job to start loading its page" },
    );
    // The page takes longer than the shutdown may: the worker stops without waiting for it.
    first.child.kill("SIGTERM");
    await first.exited;
    const second = startWorkerProcess();
    const { final } = await pollScrape(procStack.api, key, jobId, 90_000);
    expect(final.status, JSON.stringify(final)).toBe("completed");
    const ledger = await procStack.pool.query(
      "select reason, delta::float from credit_ledger where job_id = $1 order by id",
      [jobId],
    );
    expect(ledger.rows).toEqual([{ reason: "reserve", delta: -2 }]);
    expect(await procStack.balance(accountId)).toBe(8);
    second.child.kill("SIGTERM");
    await second.exited;
  });
});
