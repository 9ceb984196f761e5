// Batch behaviour that the mutation round found unguarded (§7.2, §7.3): the status a retried batch
// shows before its items start, `finishedAt` on the list while a batch still runs and once it is done,
// what a cancelled item says, a late cancel, and blank per-URL fields.
import { waitFor } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollBatch, startControlledPages, type BatchBody, type ControlledPages } from "./helpers/batch.ts";
import { call } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

let stack: TestStack;

/** Pages under the tests' control (see startControlledPages). */
let pages: ControlledPages;
const failing = new Set<string>();
const url = (path: string) => pages.url(path);
const hitsOf = (path: string) => pages.hitsOf(path);
const open = (name: string) => pages.open(name);

beforeAll(async () => {
  pages = await startControlledPages({ failing });
  stack = await startTestStack({
    worker: false,
    env: { BATCH_CONCURRENCY: "2", WORKER_CONCURRENCY: "2", PAGE_TIMEOUT_MS: "20000" },
  });
});
afterAll(async () => {
  await stack?.stop();
  await pages?.close();
});

type ListEntry = { uuid: string; status: string; finishedAt: string | null; completedCount: number };

const submit = (key: string, body: Record<string, unknown>) =>
  call<{ batchId: string; total: number; code?: string }>(`${stack.api}/batch/scrape`, { key, body });
const poll = async (key: string, batchId: string) =>
  (await call<BatchBody>(`${stack.api}/batch/scrape/${batchId}`, { key })).body;
const listed = async (key: string, batchId: string) =>
  (await call<{ jobs: ListEntry[] }>(`${stack.api}/batch/scrape?limit=50`, { key })).body.jobs.find(
    (j) => j.uuid === batchId,
  );
const statuses = (b: BatchBody) => b.items.map((i) => i.status);

describe("batch states the mutation round left unguarded", () => {
  it("a finished batch retried is `running` before its retried item starts, with finishedAt cleared", async () => {
    // No worker runs while the retry is polled, so the retried item is certainly still pending.
    const worker = await stack.startWorker();
    const { key } = await stack.createKey(100);
    failing.add("lone");
    const batch = await submit(key, { urls: [url("/flaky/lone")] });
    const done = await pollBatch(stack.api, key, batch.body.batchId);
    expect(done).toMatchObject({ status: "completed", failedCount: 1 });
    expect(done.finishedAt).not.toBeNull();
    await worker.close();

    failing.delete("lone");
    const retried = await call<{ retriedCount: number }>(`${stack.api}/batch/scrape/${batch.body.batchId}/retry`, {
      key,
      body: {},
    });
    expect(retried.body).toEqual({ status: "queued", retriedCount: 1 });
    const after = await poll(key, batch.body.batchId);
    expect(statuses(after)).toEqual(["pending"]);
    expect(after).toMatchObject({ status: "running", failedCount: 0, finishedAt: null });
    expect(await listed(key, batch.body.batchId)).toMatchObject({ status: "running", finishedAt: null });

    await stack.startWorker();
    const again = await pollBatch(stack.api, key, batch.body.batchId);
    expect(again).toMatchObject({ status: "completed", completedCount: 1, failedCount: 0 });
  });

  it("lists a running batch with finishedAt null, and a finished one with its last item's finishedAt", async () => {
    const { key } = await stack.createKey(100);
    const batch = await submit(key, { urls: [url("/ok/fin-1"), url("/gate/fin-2")] });
    const { batchId } = batch.body;
    await waitFor(
      async () => {
        const b = await poll(key, batchId);
        return b.items[0]!.status === "completed" && b.items[1]!.status === "running";
      },
      { timeoutMs: 20_000, message: "fin-1 to complete while fin-2 runs" },
    );
    expect(await listed(key, batchId)).toMatchObject({ status: "running", completedCount: 1, finishedAt: null });
    expect((await poll(key, batchId)).finishedAt).toBeNull();

    open("fin-2");
    const done = await pollBatch(stack.api, key, batchId);
    const last = done.items[1]!.finishedAt!;
    expect(new Date(last).getTime()).toBeGreaterThan(new Date(done.items[0]!.finishedAt!).getTime());
    expect(done.finishedAt).toBe(last);
    expect(await listed(key, batchId)).toMatchObject({ status: "completed", finishedAt: last });
    // A completed batch is not cancelled afterwards: 409, and it stays completed.
    const late = await call<{ code: string; message: string }>(`${stack.api}/batch/scrape/${batchId}`, {
      key,
      method: "DELETE",
    });
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({
      code: "ALREADY_TERMINAL",
      message: "Cannot cancel a batch that is already completed.",
    });
    expect(await poll(key, batchId)).toMatchObject({ status: "completed", finishedAt: last });
  });

  it("a cancelled item says so: error `Cancelled`, and the cancelled batch has a finishedAt", async () => {
    const { key } = await stack.createKey(100);
    const batch = await submit(key, { urls: [url("/gate/can-1"), url("/gate/can-2"), url("/ok/can-3")] });
    const { batchId } = batch.body;
    await waitFor(async () => statuses(await poll(key, batchId)).filter((s) => s === "running").length === 2, {
      timeoutMs: 20_000,
      message: "both gated items to run",
    });
    const cancelled = await call(`${stack.api}/batch/scrape/${batchId}`, { key, method: "DELETE" });
    expect(cancelled.body).toEqual({ status: "cancelled", cancelledItems: 1, creditsRefunded: 2 });
    const after = await poll(key, batchId);
    expect(after.status).toBe("cancelled");
    expect(after.finishedAt).not.toBeNull();
    expect(after.items[2]).toMatchObject({ status: "cancelled", error: "Cancelled", result: null, creditsUsed: 0 });
    expect(await listed(key, batchId)).toMatchObject({ status: "cancelled", finishedAt: after.finishedAt });
    open("can-1");
    open("can-2");
    await waitFor(async () => (await poll(key, batchId)).completedCount === 2, {
      timeoutMs: 20_000,
      message: "the running items to finish",
    });
    expect(hitsOf("/ok/can-3")).toBe(0);
  });

  it("a cancelled batch retried runs again with finishedAt cleared, then completes", async () => {
    const { key } = await stack.createKey(100);
    failing.add("rc-1");
    const batch = await submit(key, { urls: [url("/flaky/rc-1"), url("/gate/rc-2"), url("/gate/rc-3")] });
    const { batchId } = batch.body;
    await waitFor(async () => statuses(await poll(key, batchId)).join() === "failed,running,running", {
      timeoutMs: 20_000,
      message: "rc-1 to fail while rc-2 and rc-3 run",
    });
    expect((await call(`${stack.api}/batch/scrape/${batchId}`, { key, method: "DELETE" })).status).toBe(200);
    expect((await poll(key, batchId)).finishedAt).not.toBeNull();
    failing.delete("rc-1");
    const retried = await call(`${stack.api}/batch/scrape/${batchId}/retry`, { key, body: {} });
    expect(retried.body).toEqual({ status: "queued", retriedCount: 1 });
    expect(await poll(key, batchId)).toMatchObject({ status: "running", finishedAt: null });
    expect(await listed(key, batchId)).toMatchObject({ status: "running", finishedAt: null });
    open("rc-2");
    open("rc-3");
    const done = await pollBatch(stack.api, key, batchId);
    expect(done).toMatchObject({ status: "completed", completedCount: 3, failedCount: 0 });
  });

  it("a retry reserves every failed item's credits: refused with 403 when the balance covers only some", async () => {
    const { key, accountId } = await stack.createKey(5);
    failing.add("pay-1").add("pay-2");
    const batch = await submit(key, { urls: [url("/flaky/pay-1"), url("/flaky/pay-2")] });
    const done = await pollBatch(stack.api, key, batch.body.batchId);
    expect(done).toMatchObject({ status: "completed", failedCount: 2 });
    expect(await stack.balance(accountId)).toBe(5);
    // Another batch holds 2 credits: 3 are left, and the retry of two items needs 4.
    const other = await submit(key, { urls: [url("/gate/pay-3")] });
    expect(other.status).toBe(202);
    expect(await stack.balance(accountId)).toBe(3);
    failing.delete("pay-1");
    failing.delete("pay-2");
    const retried = await call<{ code: string }>(`${stack.api}/batch/scrape/${batch.body.batchId}/retry`, {
      key,
      body: {},
    });
    expect(retried.status).toBe(403);
    expect(retried.body.code).toBe("INSUFFICIENT_CREDITS");
    expect(await poll(key, batch.body.batchId)).toMatchObject({ status: "completed", failedCount: 2 });
    expect(await stack.balance(accountId)).toBe(3);
    open("pay-3");
    await pollBatch(stack.api, key, other.body.batchId);
    expect(await stack.balance(accountId)).toBe(3);
  });

  it("takes {url} items whose instruction, cookies or actions are blank (whitespace only)", async () => {
    const { key } = await stack.createKey(100);
    const batch = await submit(key, {
      urls: [
        { url: url("/ok/blank-1"), instruction: "   " },
        { url: url("/ok/blank-2"), cookies: " \t" },
      ],
    });
    expect(batch.status).toBe(202);
    expect(batch.body.total).toBe(2);
    const done = await pollBatch(stack.api, key, batch.body.batchId);
    expect(done).toMatchObject({ status: "completed", completedCount: 2 });
  });
});
