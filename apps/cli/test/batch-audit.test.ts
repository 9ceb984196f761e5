// Batch semantics as users meet them (§7, §14, §16): what a submit takes and refuses, the states and
// counts a poll shows, what a cancel stops (running items finish, queued ones are never fetched, a
// worker claiming an item at that moment), and what a retry re-runs. One stack; it starts without a
// worker so that "pending" and the claim race are deterministic, and gets one when a test needs it.
import { startJobAttempt } from "@orbweaver/db";
import { startOpenAIServer, waitFor, type OpenAIServer } from "@orbweaver/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ledgerGap, pollBatch, startControlledPages, type BatchBody, type ControlledPages } from "./helpers/batch.ts";
import { call } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

let model: OpenAIServer;
let stack: TestStack;

/** Pages under the tests' control (see startControlledPages); requests and cookies recorded by path. */
let pages: ControlledPages;
const failing = new Set<string>();
const url = (path: string) => pages.url(path);
const hitsOf = (path: string) => pages.hitsOf(path);
const open = (name: string) => pages.open(name);

beforeAll(async () => {
  pages = await startControlledPages({ failing });
  model = await startOpenAIServer();
  stack = await startTestStack({
    worker: false,
    env: {
      OPENAI_BASE_URL: model.baseURL,
      OPENAI_API_KEY: "test",
      LLM_MODEL: "test-model",
      BATCH_CONCURRENCY: "2",
      WORKER_CONCURRENCY: "2",
      MAX_URLS_PER_BATCH: "12",
      PAGE_TIMEOUT_MS: "20000",
    },
  });
});
afterAll(async () => {
  await stack?.stop();
  await model?.close();
  await pages?.close();
});
beforeEach(() => model.reset());

let worker: Promise<unknown> | undefined;
/** The stack's worker, started by the first test that needs items to run. */
const ensureWorker = () => (worker ??= stack.startWorker());
/** Paths of items cancelled before they ran: checked unfetched once a worker has had every chance. */
const neverFetched: string[] = [];

type Envelope = { status: string; message: string; error: string; code?: string; errors?: string[] };
type Polled = BatchBody & { schema_warnings?: string[] };
type ListEntry = { uuid: string; status: string; totalUrls: number; completedCount: number; failedCount: number };

const submit = (key: string, body: Record<string, unknown>) =>
  call<Envelope & { batchId: string; total: number; schema_warnings?: string[] }>(`${stack.api}/batch/scrape`, {
    key,
    body,
  });
const cancel = (key: string, batchId: string) =>
  call<Envelope & { cancelledItems: number; creditsRefunded: number }>(`${stack.api}/batch/scrape/${batchId}`, {
    key,
    method: "DELETE",
  });
const retry = (key: string, batchId: string) =>
  call<Envelope & { retriedCount: number }>(`${stack.api}/batch/scrape/${batchId}/retry`, { key, body: {} });

/** Polls the batch and checks what every poll must hold: counts that are the items' own, the list agreeing. */
async function poll(key: string, batchId: string): Promise<Polled> {
  const res = await call<Polled>(`${stack.api}/batch/scrape/${batchId}`, { key });
  expect(res.status).toBe(200);
  const b = res.body;
  expect(b.totalUrls).toBe(b.items.length);
  expect(b.completedCount).toBe(b.items.filter((i) => i.status === "completed").length);
  expect(b.failedCount).toBe(b.items.filter((i) => i.status === "failed").length);
  const listed = (await call<{ jobs: ListEntry[] }>(`${stack.api}/batch/scrape?limit=50`, { key })).body.jobs.find(
    (j) => j.uuid === batchId,
  );
  // Read a moment later, the list may be one step ahead; once the batch is terminal it must agree.
  if (["completed", "failed", "cancelled"].includes(b.status)) {
    const again = (await call<Polled>(`${stack.api}/batch/scrape/${batchId}`, { key })).body;
    if (again.status === b.status && again.completedCount === b.completedCount)
      expect(listed).toMatchObject({
        status: b.status,
        totalUrls: b.totalUrls,
        completedCount: b.completedCount,
        failedCount: b.failedCount,
      });
  }
  return b;
}

const balanceOf = async (accountId: string) =>
  (await stack.pool.query("select credits_balance::float as b from accounts where id = $1", [accountId])).rows[0]
    .b as number;

describe("submit, and cancel before any worker runs", () => {
  it("refuses {url} items carrying per-URL actions, cookies or an instruction (400 naming each), creating nothing", async () => {
    const { key, accountId } = await stack.createKey(100);
    const refused = await submit(key, {
      urls: [
        url("/ok/plain"),
        { url: url("/ok/acted"), actions: [{ type: "click", selector: "#more" }] },
        { url: url("/ok/logged-in"), cookies: [{ name: "session", value: "abc" }] },
      ],
      prompt: "The title",
    });
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(refused.body.message).toMatch(/urls\[1\]\.actions/);
    expect(refused.body.error).toBe(refused.body.message);
    expect(refused.body.errors?.map((e) => e.split(":")[0])).toEqual(["urls[1].actions", "urls[2].cookies"]);
    expect(await balanceOf(accountId)).toBe(100);
    const list = await call<{ jobs: unknown[] }>(`${stack.api}/batch/scrape`, { key });
    expect(list.body.jobs).toHaveLength(0);

    // Empty per-URL fields say nothing (n8n sends `actions: []`): taken, as strings and {url} are.
    const taken = await submit(key, {
      urls: [url("/ok/plain"), { url: url("/ok/acted"), actions: [], cookies: [] }],
    });
    expect(taken.status, JSON.stringify(taken.body)).toBe(202);
    expect((await cancel(key, taken.body.batchId)).body.cancelledItems).toBe(2);
  });

  it("takes MAX_URLS_PER_BATCH URLs and refuses one more; a pending batch cancelled is refunded whole and never fetched", async () => {
    const { key, accountId } = await stack.createKey(100);
    const urls = Array.from({ length: 13 }, (_, i) => url(`/ok/pending-${i}`));
    const tooMany = await submit(key, { urls });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.message).toContain("at most 12");
    expect(tooMany.body.errors).toEqual(["urls must have at most 12 items"]);

    const batch = await submit(key, { urls: urls.slice(0, 12) });
    expect(batch.status).toBe(202);
    expect(batch.body.total).toBe(12);
    expect(batch.headers.get("location")).toBe(`/api/batch/scrape/${batch.body.batchId}`);
    expect(await balanceOf(accountId)).toBe(76);
    // No worker runs yet: nothing has started.
    const before = await poll(key, batch.body.batchId);
    expect(before.status).toBe("pending");
    expect(before.items.map((i) => i.status)).toEqual(Array(12).fill("pending"));
    expect(before.items.map((i) => i.url)).toEqual(urls.slice(0, 12));

    const cancelled = await cancel(key, batch.body.batchId);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toEqual({ status: "cancelled", cancelledItems: 12, creditsRefunded: 24 });
    const after = await poll(key, batch.body.batchId);
    expect(after).toMatchObject({ status: "cancelled", completedCount: 0, failedCount: 0 });
    expect(after.finishedAt).not.toBeNull();
    expect(after.items.every((i) => i.status === "cancelled" && i.creditsUsed === 0 && i.error === "Cancelled")).toBe(
      true,
    );
    const again = await cancel(key, batch.body.batchId);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      code: "ALREADY_TERMINAL",
      message: "Cannot cancel a batch that is already cancelled.",
    });
    expect(await balanceOf(accountId)).toBe(100);

    // Its first items were already in the queue: the worker started later refuses them (checked at the end).
    neverFetched.push(...urls.slice(0, 12).map((u) => new URL(u).pathname));
    expect(await ledgerGap(stack.pool, accountId, 100)).toBe(0);
  });

  it("a worker claiming an item while the cancel runs: the claim that commits first wins, never both", async () => {
    const { key, accountId } = await stack.createKey(100);
    // Items dispatched to a queue no worker reads yet are claimed here by hand, as a worker would.
    const claimBefore = await submit(key, { urls: [url("/ok/race-a1"), url("/ok/race-a2"), url("/ok/race-a3")] });
    const cancelBefore = await submit(key, { urls: [url("/ok/race-b1"), url("/ok/race-b2")] });
    const jobIdOf = async (batchId: string, n: number) => (await poll(key, batchId)).items[n]!.jobId!;

    // A claim in flight (its row locked, not committed) holds the cancel back; committed first, it wins.
    const first = await jobIdOf(claimBefore.body.batchId, 0);
    const client = await stack.pool.connect();
    try {
      await client.query("begin");
      const claimed = await client.query(
        "update jobs set status = 'active', started_at = now(), run_token = gen_random_uuid() where id = $1 and status = 'waiting'",
        [first],
      );
      expect(claimed.rowCount).toBe(1);
      let answered = false;
      const cancelling = cancel(key, claimBefore.body.batchId).finally(() => (answered = true));
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(answered, "the cancel waits for the claim's row").toBe(false);
      await client.query("commit");
      const res = await cancelling;
      expect(res.body).toEqual({ status: "cancelled", cancelledItems: 2, creditsRefunded: 4 });
    } finally {
      client.release();
    }
    expect((await poll(key, claimBefore.body.batchId)).items.map((i) => i.status)).toEqual([
      "running",
      "cancelled",
      "cancelled",
    ]);

    // Cancelled first: the claim finds nothing to run.
    const second = await jobIdOf(cancelBefore.body.batchId, 0);
    expect((await cancel(key, cancelBefore.body.batchId)).body.cancelledItems).toBe(2);
    expect(await startJobAttempt(stack.db, second)).toBeNull();

    // The claim above never runs its item to the end (no worker is behind it). A worker that takes the
    // item over now would start a new run after the cancel: the item is cancelled and refunded
    // instead, and no cancelled one is ever fetched.
    await ensureWorker();
    await waitFor(async () => (await poll(key, claimBefore.body.batchId)).items[0]?.status === "cancelled", {
      timeoutMs: 30_000,
      message: "the claimed item to end",
    });
    expect((await poll(key, claimBefore.body.batchId)).items.map((i) => i.creditsUsed)).toEqual([0, 0, 0]);
    neverFetched.push("/ok/race-a1", "/ok/race-a2", "/ok/race-a3", "/ok/race-b1", "/ok/race-b2");
    expect(await ledgerGap(stack.pool, accountId, 100)).toBe(0);
  });

  it("applies prompt, schema and cookies to every item, duplicates included, with schema_warnings on submit and poll", async () => {
    await ensureWorker();
    const { key, accountId } = await stack.createKey(100);
    model.setDefault(() => ({ content: { title: "T" }, usage: { prompt_tokens: 10, completion_tokens: 5 } }));
    const urls = [url("/ok/dup"), url("/ok/dup"), { url: url("/ok/dup") }, url("/ok/other")];
    const batch = await submit(key, {
      urls,
      prompt: "The page title",
      schema: { type: "object", properties: { title: { type: "string" }, sku: { anyOf: [{ type: "string" }] } } },
      cookies: "session=abc",
    });
    expect(batch.status, JSON.stringify(batch.body)).toBe(202);
    expect(batch.body.total).toBe(4);
    expect(batch.body.schema_warnings).toEqual([expect.stringContaining("anyOf")]);
    const done = await pollBatch(stack.api, key, batch.body.batchId);
    const polled = await poll(key, batch.body.batchId);
    expect(polled.schema_warnings).toEqual(batch.body.schema_warnings);
    expect(done).toMatchObject({ status: "completed", completedCount: 4, failedCount: 0 });
    // A URL listed twice is two items: its own uuid and job, fetched and billed each time, in submit order.
    expect(done.items.map((i) => new URL(i.url).pathname)).toEqual(["/ok/dup", "/ok/dup", "/ok/dup", "/ok/other"]);
    expect(new Set(done.items.map((i) => i.uuid)).size).toBe(4);
    expect(new Set(done.items.map((i) => i.jobId)).size).toBe(4);
    expect(done.items.map((i) => i.result)).toEqual(Array(4).fill({ title: "T" }));
    expect(hitsOf("/ok/dup")).toBe(3);
    expect([...pages.cookiesSeen("/ok/dup"), ...pages.cookiesSeen("/ok/other")]).toEqual(Array(4).fill("session=abc"));
    const chats = model.chatRequests();
    expect(chats).toHaveLength(4);
    expect(chats.every((c) => c.promptText.includes("The page title"))).toBe(true);
    const listed = (
      await call<{ jobs: Array<ListEntry & { outputFormat: string }> }>(`${stack.api}/batch/scrape`, { key })
    ).body.jobs[0];
    expect(listed).toMatchObject({ uuid: batch.body.batchId, outputFormat: "json" });
    expect(await ledgerGap(stack.pool, accountId, 100)).toBe(0);
  });
});

describe("states, cancel and retry", () => {
  it("a running batch cancelled: running items finish and are billed, queued ones are refunded and never fetched", async () => {
    await ensureWorker();
    const { key, accountId } = await stack.createKey(100);
    const urls = [url("/gate/run-1"), url("/gate/run-2"), url("/ok/run-3"), url("/ok/run-4"), url("/ok/run-5")];
    const batch = await submit(key, { urls });
    const running = await waitFor(
      async () => {
        const b = await poll(key, batch.body.batchId);
        return b.items.filter((i) => i.status === "running").length === 2 ? b : undefined;
      },
      { timeoutMs: 20_000, message: "both gated items to run" },
    );
    expect(running.status).toBe("running");
    expect(running.items.map((i) => i.status)).toEqual(["running", "running", "pending", "pending", "pending"]);
    expect(running.finishedAt).toBeNull();

    const cancelled = await cancel(key, batch.body.batchId);
    expect(cancelled.body).toEqual({ status: "cancelled", cancelledItems: 3, creditsRefunded: 6 });
    const during = await poll(key, batch.body.batchId);
    expect(during.status).toBe("cancelled");
    expect(during.items.map((i) => i.status)).toEqual(["running", "running", "cancelled", "cancelled", "cancelled"]);
    expect((await cancel(key, batch.body.batchId)).status).toBe(409);

    open("run-1");
    open("run-2");
    const final = await waitFor(
      async () => {
        const b = await poll(key, batch.body.batchId);
        return b.items.filter((i) => i.status === "completed").length === 2 ? b : undefined;
      },
      { timeoutMs: 20_000, message: "the running items to finish" },
    );
    expect(final).toMatchObject({ status: "cancelled", completedCount: 2, failedCount: 0 });
    expect(final.items.map((i) => i.creditsUsed)).toEqual([2, 2, 0, 0, 0]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(["/ok/run-3", "/ok/run-4", "/ok/run-5"].map(hitsOf)).toEqual([0, 0, 0]);
    expect(await ledgerGap(stack.pool, accountId, 100)).toBe(0);
  });

  it("a batch whose every item failed is completed, with failedCount = totalUrls and nothing charged", async () => {
    await ensureWorker();
    const { key, accountId } = await stack.createKey(100);
    failing.add("all-1").add("all-2");
    const batch = await submit(key, { urls: [url("/flaky/all-1"), url("/flaky/all-2")] });
    await pollBatch(stack.api, key, batch.body.batchId);
    const done = await poll(key, batch.body.batchId);
    expect(done).toMatchObject({ status: "completed", totalUrls: 2, completedCount: 0, failedCount: 2 });
    expect(done.finishedAt).not.toBeNull();
    expect(done.items.every((i) => i.status === "failed" && typeof i.error === "string" && i.creditsUsed === 0)).toBe(
      true,
    );
    expect(await balanceOf(accountId)).toBe(100);
  });

  it("retries only failed items, while others still run; again only once each has failed again; a cancelled batch's failed items too", async () => {
    await ensureWorker();
    const { key, accountId } = await stack.createKey(100);
    failing.add("re-1");
    const batch = await submit(key, { urls: [url("/flaky/re-1"), url("/gate/re-2"), url("/ok/re-3")] });
    const { batchId } = batch.body;
    const firstFailure = await waitFor(
      async () => {
        const b = await poll(key, batchId);
        return b.items[0]!.status === "failed" ? b : undefined;
      },
      { timeoutMs: 20_000, message: "the flaky item to fail" },
    );
    expect(firstFailure).toMatchObject({ status: "running", failedCount: 1 });
    expect(firstFailure.items[1]!.status).toBe("running");

    // Retried while the batch runs: the failed item gets a new job, the running one is left alone.
    failing.delete("re-1");
    const retried = await retry(key, batchId);
    expect(retried.status).toBe(202);
    expect(retried.body).toEqual({ status: "queued", retriedCount: 1 });
    const afterRetry = await poll(key, batchId);
    expect(afterRetry).toMatchObject({ status: "running", failedCount: 0 });
    expect(afterRetry.items[0]).toMatchObject({ uuid: firstFailure.items[0]!.uuid, error: null });
    expect(afterRetry.items[0]!.jobId).not.toBe(firstFailure.items[0]!.jobId);
    expect(afterRetry.items[1]!.jobId).toBe(firstFailure.items[1]!.jobId);
    // A second retry finds nothing failed: 400, and no item has two jobs at once.
    const twice = await retry(key, batchId);
    expect(twice.status).toBe(400);
    const unfinished = await stack.pool.query<{ url: string; n: number }>(
      `select request->'urls'->0->>'url' as url, count(*)::int as n from jobs
        where batch_id = $1 and status in ('waiting','delayed','active') group by 1`,
      [batchId],
    );
    expect(unfinished.rows.every((r) => r.n === 1)).toBe(true);
    await waitFor(async () => (await poll(key, batchId)).items[0]!.status === "completed", {
      timeoutMs: 20_000,
      message: "the retried item to complete",
    });
    open("re-2");
    const done = await pollBatch(stack.api, key, batchId);
    expect(done).toMatchObject({ status: "completed", completedCount: 3, failedCount: 0 });
    expect(done.items.map((i) => hitsOf(new URL(i.url).pathname) > 0)).toEqual([true, true, true]);

    // A cancelled batch: its failed items can still be retried (its cancelled ones never run); it runs, then completes.
    failing.add("re-4");
    const other = await submit(key, {
      urls: [url("/flaky/re-4"), url("/gate/re-5"), url("/gate/re-6"), url("/ok/re-7")],
    });
    await waitFor(
      async () => {
        const b = await poll(key, other.body.batchId);
        return b.items[0]!.status === "failed" && b.items[2]!.status === "running";
      },
      { timeoutMs: 20_000, message: "re-4 to fail and re-6 to run" },
    );
    expect((await cancel(key, other.body.batchId)).body).toMatchObject({ cancelledItems: 1, creditsRefunded: 2 });
    failing.delete("re-4");
    const revived = await retry(key, other.body.batchId);
    expect(revived.body).toEqual({ status: "queued", retriedCount: 1 });
    expect((await poll(key, other.body.batchId)).status).toBe("running");
    open("re-5");
    open("re-6");
    const otherDone = await pollBatch(stack.api, key, other.body.batchId);
    expect(otherDone.items.map((i) => i.status)).toEqual(["completed", "completed", "completed", "cancelled"]);
    expect(otherDone).toMatchObject({ status: "completed", completedCount: 3, failedCount: 0 });
    await poll(key, other.body.batchId);
    neverFetched.push("/ok/re-7");
    expect(await ledgerGap(stack.pool, accountId, 100)).toBe(0);
  });
});

describe("listing", () => {
  it("pages past the last one are empty (not clamped back), limits clamp, non-numbers are a 400", async () => {
    const { key } = await stack.createKey(100);
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const b = await submit(key, { urls: [url(`/ok/list-${i}`)] });
      ids.push(b.body.batchId);
    }
    type List = { jobs: ListEntry[]; pagination: Record<string, number> };
    const page2 = await call<List>(`${stack.api}/batch/scrape?page=2&limit=2`, { key });
    expect(page2.body.jobs.map((j) => j.uuid)).toEqual([ids[0]]);
    const beyond = await call<List>(`${stack.api}/batch/scrape?page=9&limit=2`, { key });
    expect(beyond.status).toBe(200);
    expect(beyond.body).toEqual({ jobs: [], pagination: { page: 9, limit: 2, total: 3, totalPages: 2 } });
    const clamped = await call<List>(`${stack.api}/batch/scrape?page=0&limit=51`, { key });
    expect(clamped.body.pagination).toEqual({ page: 1, limit: 50, total: 3, totalPages: 1 });
    const words = await call<Envelope>(`${stack.api}/batch/scrape?page=two`, { key });
    expect(words.status).toBe(400);
    for (const id of ids) await pollBatch(stack.api, key, id);
  });

  it("no item cancelled before it ran was ever fetched", () => {
    expect(neverFetched.length).toBeGreaterThan(15);
    expect(neverFetched.filter((path) => hitsOf(path) > 0)).toEqual([]);
  });
});
