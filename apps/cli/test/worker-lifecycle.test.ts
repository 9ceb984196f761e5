// A worker's own life (a restart, a crash) never decides a user's job: a job cut short by its worker's
// shutdown is handed to another worker rather than failed, and a job whose worker died after the
// user cancelled its batch is not run again by the worker that takes it over.
import { waitFor, type FixtureSite } from "@orbweaver/testkit";
import { readdir, readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { ledgerGap } from "./helpers/batch.ts";
import { call, pollScrape } from "./helpers/http.ts";
import { useWorkerProcesses } from "./helpers/spawn.ts";
import { startSiteAndStack, useStarted, type TestStack } from "./helpers/stack.ts";
import { jobRow, ledgerOf } from "./helpers/job-rows.ts";

let site: FixtureSite;
let stack: TestStack;

// Worker processes of their own. One attempt per job: a failure the shutdown caused would be final.
// Short locks so a dead worker's job is taken over within seconds; the shutdown gives running jobs
// half a second, far less than the slow page takes.
useStarted(
  () =>
    startSiteAndStack({
      worker: false,
      env: {
        JOB_ATTEMPTS: "1",
        JOB_LOCK_MS: "3000",
        STALLED_INTERVAL_MS: "2000",
        PAGE_TIMEOUT_MS: "20000",
        SHUTDOWN_TIMEOUT_MS: "500",
      },
    }),
  (started) => ({ site, stack } = started),
);

const startWorkerProcess = useWorkerProcesses(() => stack.env);

/** Every process below `pid` (Linux /proc): a worker's Chromium and its renderers. */
async function descendantsOf(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (Number.isInteger(ppid)) parents.set(Number(entry), ppid);
  }
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

describe("a job cut short by its worker's shutdown", () => {
  it("on its last attempt is handed to the next worker, not failed, and completes charged once; the worker exits 0", async () => {
    const { key, accountId } = await stack.createKey(10);
    const path = "/slow?ms=6000&n=last-attempt-shutdown";
    const first = startWorkerProcess();
    // A screenshot keeps the page in Chromium (a static page is otherwise read over plain HTTP).
    const submit = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      body: { urls: [{ url: site.url(path) }], screenshot: true },
    });
    expect(submit.status).toBe(202);
    const jobId = submit.body.jobId;
    await waitFor(async () => (await jobRow(stack, jobId))?.status === "active" && site.hits(path) > 0, {
      timeoutMs: 30_000,
      message: "the job to start loading its page",
    });
    // The page takes longer than SHUTDOWN_TIMEOUT_MS: the worker stops without waiting for it.
    first.child.kill("SIGTERM");
    expect(await first.exited, first.output()).toBe(0);
    // Stopped at its deadline, the worker left the job unfinished, waiting for another worker.
    const between = await call<{ status: string }>(`${stack.api}/scrape/${jobId}`, { key });
    expect(["waiting", "delayed"], JSON.stringify(between.body)).toContain(between.body.status);

    const second = startWorkerProcess();
    const { final } = await pollScrape(stack.api, key, jobId, 90_000);
    expect(final.status, JSON.stringify(final)).toBe("completed");
    expect(final.result?.data[0]).toMatchObject({ success: true, title: "Slow page (6000 ms)" });
    expect(site.hits(path)).toBe(2);
    expect(await ledgerOf(stack, jobId)).toEqual([{ reason: "reserve", delta: -2 }]);
    expect(await stack.balance(accountId)).toBe(8);
    expect(await ledgerGap(stack.pool, accountId, 10)).toBe(0);
    second.child.kill("SIGTERM");
    expect(await second.exited, second.output()).toBe(0);
  });
});

describe("a batch cancelled after the worker running one of its items was killed", () => {
  it("the item's redelivered job does nothing: no page load, no charge; the item is cancelled and refunded", async () => {
    const { key, accountId } = await stack.createKey(10);
    const path = "/slow?ms=8000&n=cancel-after-kill";
    const first = startWorkerProcess();
    const submit = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: [site.url(path)], screenshot: true },
    });
    expect(submit.status).toBe(202);
    const batchId = submit.body.batchId;
    const { rows } = await stack.pool.query<{ id: string }>("select id from jobs where batch_id = $1", [batchId]);
    const jobId = rows[0]!.id;
    await waitFor(async () => (await jobRow(stack, jobId))?.status === "active" && site.hits(path) > 0, {
      timeoutMs: 30_000,
      message: "the item to start loading its page",
    });
    // The worker dies with its browser: nothing of it is left to finish the page.
    const pid = first.child.pid!;
    const browser = await descendantsOf(pid);
    process.kill(pid, "SIGKILL");
    for (const p of browser) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // already gone with its parent
      }
    }
    expect(await first.exited).toBeNull();

    // Cancelled while the item is (as far as Postgres knows) still running: it is let finish.
    const cancel = await call<{ status: string; cancelledItems: number; creditsRefunded: number }>(
      `${stack.api}/batch/scrape/${batchId}`,
      { key, method: "DELETE" },
    );
    expect(cancel.status).toBe(200);
    expect(cancel.body).toMatchObject({ status: "cancelled", cancelledItems: 0, creditsRefunded: 0 });

    // Another worker takes the stalled job over: its run would be a new run after the cancel.
    const second = startWorkerProcess();
    await waitFor(
      async () => ["completed", "failed", "cancelled"].includes((await jobRow(stack, jobId))?.status ?? ""),
      {
        timeoutMs: 60_000,
        message: "the item to end",
      },
    );
    const row = await jobRow(stack, jobId);
    expect(row, JSON.stringify(row)).toMatchObject({ status: "cancelled", credits_used: 0 });
    expect(site.hits(path)).toBe(1);
    expect(await ledgerOf(stack, jobId)).toEqual([
      { reason: "reserve", delta: -2 },
      { reason: "refund", delta: 2 },
    ]);
    expect(await stack.balance(accountId)).toBe(10);
    expect(await ledgerGap(stack.pool, accountId, 10)).toBe(0);
    const batch = await call<{ status: string; items: Array<{ status: string; creditsUsed: number }> }>(
      `${stack.api}/batch/scrape/${batchId}`,
      { key },
    );
    expect(batch.body.status).toBe("cancelled");
    expect(batch.body.items).toMatchObject([{ status: "cancelled", creditsUsed: 0 }]);
    second.child.kill("SIGTERM");
    expect(await second.exited, second.output()).toBe(0);
  });
});
