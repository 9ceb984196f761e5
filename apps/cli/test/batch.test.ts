import { startFixtureSite, waitFor, type FixtureSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ledgerGap, pollBatch, type BatchBody } from "./helpers/batch.ts";
import { call, pollScrape } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let stack: TestStack;

beforeAll(async () => {
  site = await startFixtureSite();
  stack = await startTestStack({ env: { BATCH_CONCURRENCY: "2", WORKER_CONCURRENCY: "2" } });
});
afterAll(async () => {
  await stack?.stop();
  await site?.close();
});

type Envelope = { status: string; message: string; error: string; code?: string; errors?: string[] };

describe("batch scraping", () => {
  it("runs every URL as its own job, reports per-item results and bills only what succeeded", async () => {
    const { key, accountId } = await stack.createKey(100);
    const urls = [site.url("/product/1"), { url: site.url("/news/2") }, site.url("/status/500"), site.url("/spa")];
    const submit = await call<{ status: string; batchId: string; total: number }>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls, output: "markdown" },
    });
    expect(submit.status).toBe(202);
    expect(submit.body).toMatchObject({ status: "queued", total: 4 });
    expect(submit.headers.get("location")).toBe(`/api/batch/scrape/${submit.body.batchId}`);

    const done = await pollBatch(stack.api, key, submit.body.batchId);
    expect(done.status).toBe("completed");
    expect(done).toMatchObject({ totalUrls: 4, completedCount: 3, failedCount: 1 });
    expect(Number.isInteger(done.completedCount)).toBe(true);
    expect(done.finishedAt).not.toBeNull();
    expect(done.items.map((i) => i.url)).toEqual([
      site.url("/product/1"),
      site.url("/news/2"),
      site.url("/status/500"),
      site.url("/spa"),
    ]);
    expect(new Set(done.items.map((i) => i.uuid)).size).toBe(4);
    const [product, news, broken, spa] = done.items;
    expect(product).toMatchObject({ status: "completed", error: null, creditsUsed: 2, screenshotUrl: null });
    expect(product!.result).toEqual(expect.stringContaining("$39.99"));
    expect(typeof product!.startedAt).toBe("string");
    expect(news!.status).toBe("completed");
    expect(spa!.result).toEqual(expect.stringContaining("Rendered by script"));
    expect(broken).toMatchObject({ status: "failed", result: null, creditsUsed: 0 });
    expect(broken!.error).toContain("500");
    // Each item is a scrape job of its own.
    const job = await call<{ status: string }>(`${stack.api}/scrape/${product!.jobId}`, { key });
    expect(job.body.status).toBe("completed");
    expect(await ledgerGap(stack.pool, accountId, 100)).toBe(0);
    const balance = await stack.pool.query("select credits_balance::float as b from accounts where id = $1", [
      accountId,
    ]);
    expect(balance.rows[0].b).toBe(94);
  });

  it("retries only failed items (empty body, {} and {cookies}), refuses when none failed, and the ledger holds", async () => {
    const { key, accountId } = await stack.createKey(100);
    const submit = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: [site.url("/"), site.url("/status/503")] },
    });
    const first = await pollBatch(stack.api, key, submit.body.batchId);
    expect(first.failedCount).toBe(1);
    const failedUuid = first.items[1]!.uuid;
    const oldJobId = first.items[1]!.jobId;

    for (const body of [undefined, {}, { cookies: "a=b" }]) {
      const retry = await call<{ status: string; retriedCount: number }>(
        `${stack.api}/batch/scrape/${submit.body.batchId}/retry`,
        {
          key,
          method: "POST",
          ...(body === undefined ? { headers: { "content-type": "application/json" } } : { body }),
        },
      );
      expect(retry.status).toBe(202);
      expect(retry.body).toEqual({ status: "queued", retriedCount: 1 });
      const again = await pollBatch(stack.api, key, submit.body.batchId);
      expect(again.status).toBe("completed");
      expect(again.items[1]!.uuid).toBe(failedUuid);
      expect(again.items[1]!.jobId).not.toBe(oldJobId);
      expect(again.items[0]!.jobId).toBe(first.items[0]!.jobId);
    }
    expect(await ledgerGap(stack.pool, accountId, 100)).toBe(0);

    const allGood = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: [site.url("/")] },
    });
    await pollBatch(stack.api, key, allGood.body.batchId);
    const none = await call<Envelope>(`${stack.api}/batch/scrape/${allGood.body.batchId}/retry`, { key, body: {} });
    expect(none.status).toBe(400);
    expect(none.body.error).toBe(none.body.message);
  });

  it("refuses a retry with bad cookies before retrying anything, and one the balance cannot cover with 403", async () => {
    const { key, accountId } = await stack.createKey(4);
    const submit = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: [site.url("/"), site.url("/status/503")] },
    });
    expect(submit.status).toBe(202);
    const first = await pollBatch(stack.api, key, submit.body.batchId);
    expect(first.failedCount).toBe(1);
    const balance = async () =>
      (await stack.pool.query("select credits_balance::float as b from accounts where id = $1", [accountId])).rows[0]
        .b as number;
    expect(await balance()).toBe(2);
    const retry = (body: unknown) =>
      call<Envelope>(`${stack.api}/batch/scrape/${submit.body.batchId}/retry`, { key, body });
    const unchanged = async () => {
      const now = (await call<BatchBody>(`${stack.api}/batch/scrape/${submit.body.batchId}`, { key })).body;
      expect(now).toMatchObject({ status: first.status, failedCount: 1 });
      expect(now.items.map((i) => i.jobId)).toEqual(first.items.map((i) => i.jobId));
      expect(await ledgerGap(stack.pool, accountId, 4)).toBe(0);
    };

    for (const [body, reason] of [
      [{ cookies: 42 }, /cookies must be a string/],
      [{ cookies: ["a=b"] }, /cookies must be a string/],
      [{ cookies: "HttpOnly" }, /cookie/i],
    ] as const) {
      const res = await retry(body);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body).toMatchObject({ status: "error" });
      expect(res.body.message).toMatch(reason);
      await unchanged();
      expect(await balance()).toBe(2);
    }

    // Spend the rest, then a retry cannot reserve its item's credits.
    const spend = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      body: { urls: [{ url: site.url("/") }] },
    });
    expect((await pollScrape(stack.api, key, spend.body.jobId)).final.status).toBe("completed");
    expect(await balance()).toBe(0);
    const broke = await retry({});
    expect(broke.status, JSON.stringify(broke.body)).toBe(403);
    expect(broke.body.message).toMatch(/credits/i);
    await unchanged();
  });

  it("answers 429 TOO_MANY_PENDING_JOBS past the account's pending-batch limit (retries included), and takes batches again once one ends", async () => {
    const { key, accountId } = await stack.createKey(100);
    await stack.pool.query("update accounts set max_pending_batches = 1 where id = $1", [accountId]);
    const submit = (n: number) =>
      call<Envelope & { batchId: string }>(`${stack.api}/batch/scrape`, {
        key,
        body: { urls: [site.url(`/slow?ms=1500&pending=${n}`)] },
      });
    const first = await submit(1);
    expect(first.status).toBe(202);
    const second = await submit(2);
    expect(second.status, JSON.stringify(second.body)).toBe(429);
    expect(second.body).toMatchObject({ status: "error", code: "TOO_MANY_PENDING_JOBS" });
    expect(second.headers.get("retry-after")).toMatch(/^\d+$/);
    await pollBatch(stack.api, key, first.body.batchId);
    const third = await submit(3);
    expect(third.status).toBe(202);

    // A retry makes a finished batch pending again: it counts against the limit as a new batch would.
    const withFailure = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: [site.url("/status/503")] },
    });
    expect(withFailure.status, "a batch is pending: no room for another").toBe(429);
    await pollBatch(stack.api, key, third.body.batchId);
    const failing = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: [site.url("/status/503")] },
    });
    expect(failing.status).toBe(202);
    expect((await pollBatch(stack.api, key, failing.body.batchId)).failedCount).toBe(1);
    const busy = await submit(4);
    expect(busy.status).toBe(202);
    const retry = () => call<Envelope>(`${stack.api}/batch/scrape/${failing.body.batchId}/retry`, { key, body: {} });
    const refused = await retry();
    expect(refused.status, JSON.stringify(refused.body)).toBe(429);
    expect(refused.body).toMatchObject({ status: "error", code: "TOO_MANY_PENDING_JOBS" });
    await pollBatch(stack.api, key, busy.body.batchId);
    expect((await retry()).status).toBe(202);
  });

  it("cancels pending items with a refund, lets running ones finish, and refuses a second cancel with 409", async () => {
    const { key, accountId } = await stack.createKey(100);
    const urls = Array.from({ length: 8 }, (_, i) => site.url(`/slow?ms=1500&n=${i}`));
    const submit = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, { key, body: { urls } });
    await waitFor(
      async () =>
        (await call<BatchBody>(`${stack.api}/batch/scrape/${submit.body.batchId}`, { key })).body.items.some(
          (i) => i.status === "running",
        ),
      { timeoutMs: 20_000 },
    );
    const cancel = await call<{ status: string; cancelledItems: number; creditsRefunded: number }>(
      `${stack.api}/batch/scrape/${submit.body.batchId}`,
      { key, method: "DELETE", headers: { "content-type": "application/json" } },
    );
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe("cancelled");
    expect(cancel.body.cancelledItems).toBeGreaterThanOrEqual(5);
    expect(cancel.body.creditsRefunded).toBe(cancel.body.cancelledItems * 2);

    const again = await call<Envelope>(`${stack.api}/batch/scrape/${submit.body.batchId}`, { key, method: "DELETE" });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("ALREADY_TERMINAL");

    // Running items finish and are billed; nothing else runs.
    await waitFor(
      async () => {
        const res = await stack.pool.query(
          "select count(*)::int as n from jobs where batch_id = $1 and status in ('waiting','delayed','active')",
          [submit.body.batchId],
        );
        return res.rows[0].n === 0;
      },
      { timeoutMs: 30_000 },
    );
    const final = (await call<BatchBody>(`${stack.api}/batch/scrape/${submit.body.batchId}`, { key })).body;
    expect(final.status).toBe("cancelled");
    expect(final.items.filter((i) => i.status === "cancelled")).toHaveLength(cancel.body.cancelledItems);
    expect(final.items.filter((i) => i.status === "cancelled").every((i) => i.creditsUsed === 0)).toBe(true);
    expect(await ledgerGap(stack.pool, accountId, 100)).toBe(0);
  });

  it("lists batches newest first with clamped pagination", async () => {
    const { key } = await stack.createKey(100);
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      ids.push(
        (await call<{ batchId: string }>(`${stack.api}/batch/scrape`, { key, body: { urls: [site.url("/")] } })).body
          .batchId,
      );
    }
    type List = { jobs: Array<Record<string, unknown>>; pagination: Record<string, number> };
    const all = await call<List>(`${stack.api}/batch/scrape?page=0&limit=0`, { key });
    expect(all.status).toBe(200);
    expect(all.body.pagination).toEqual({ page: 1, limit: 20, total: 3, totalPages: 1 });
    expect(all.body.jobs.map((j) => j.uuid)).toEqual([...ids].reverse());
    expect(Object.keys(all.body.jobs[0]!).sort()).toEqual(
      [
        "completedCount",
        "createdAt",
        "failedCount",
        "finishedAt",
        "outputFormat",
        "scrapingChannel",
        "status",
        "totalUrls",
        "uuid",
      ].sort(),
    );
    expect(all.body.jobs[0]).toMatchObject({ totalUrls: 1, outputFormat: "markdown", scrapingChannel: "api" });
    const paged = await call<List>(`${stack.api}/batch/scrape?page=2&limit=2`, { key });
    expect(paged.body.jobs.map((j) => j.uuid)).toEqual([ids[0]]);
    expect(paged.body.pagination).toEqual({ page: 2, limit: 2, total: 3, totalPages: 2 });
    const capped = await call<List>(`${stack.api}/batch/scrape?limit=500&page=-3`, { key });
    expect(capped.body.pagination).toMatchObject({ page: 1, limit: 50 });
    for (const id of ids) await pollBatch(stack.api, key, id);
  });

  it("refuses bad batches in the envelope and hides other accounts' batches", async () => {
    const { key } = await stack.createKey(10);
    const tooMany = await call<Envelope>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: Array.from({ length: 51 }, (_, i) => `http://127.0.0.1/${i}`) },
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.message).toContain("at most 50");
    expect((await call<Envelope>(`${stack.api}/batch/scrape`, { key, body: { urls: [] } })).status).toBe(400);
    const scheme = await call<Envelope>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: [site.url("/"), "ftp://x/"] },
    });
    expect(scheme.status).toBe(400);
    expect(scheme.body.errors?.[0]).toContain("urls[1]");
    const poor = await call<Envelope>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: Array.from({ length: 6 }, () => site.url("/")) },
    });
    expect(poor.status).toBe(403);
    for (const path of ["/batch/scrape/00000000-0000-0000-0000-000000000000", "/batch/scrape/nope"]) {
      expect((await call(`${stack.api}${path}`, { key })).status).toBe(404);
      expect((await call(`${stack.api}${path}`, { key, method: "DELETE" })).status).toBe(404);
      expect((await call(`${stack.api}${path}/retry`, { key, body: {} })).status).toBe(404);
    }
    const mine = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, { key, body: { urls: [site.url("/")] } });
    const other = await stack.createKey(10);
    expect((await call(`${stack.api}/batch/scrape/${mine.body.batchId}`, { key: other.key })).status).toBe(404);
    expect(
      (await call(`${stack.api}/batch/scrape/${mine.body.batchId}`, { key: other.key, method: "DELETE" })).status,
    ).toBe(404);
    await pollBatch(stack.api, key, mine.body.batchId);
  });

  it("does not let one account's large batch starve another account's single scrape", async () => {
    const big = await stack.createKey(200);
    const small = await stack.createKey(10);
    const urls = Array.from({ length: 20 }, (_, i) => site.url(`/slow?ms=800&n=${i}`));
    const batch = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, { key: big.key, body: { urls } });
    expect(batch.status).toBe(202);
    await waitFor(
      async () =>
        (await call<BatchBody>(`${stack.api}/batch/scrape/${batch.body.batchId}`, { key: big.key })).body.items.some(
          (i) => i.status === "running",
        ),
      { timeoutMs: 20_000 },
    );
    const single = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key: small.key,
      body: { urls: [{ url: site.url("/") }] },
    });
    const { final } = await pollScrape(stack.api, small.key, single.body.jobId);
    expect(final.status).toBe("completed");
    const during = (await call<BatchBody>(`${stack.api}/batch/scrape/${batch.body.batchId}`, { key: big.key })).body;
    expect(during.items.filter((i) => i.status === "pending").length).toBeGreaterThan(5);
    const cancel = await call(`${stack.api}/batch/scrape/${batch.body.batchId}`, { key: big.key, method: "DELETE" });
    expect(cancel.status).toBe(200);
  });
});
