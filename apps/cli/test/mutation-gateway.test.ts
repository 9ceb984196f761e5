// Gateway gaps found by hand mutation testing (see /work/notes/mut-gateway.md): each test below
// fails with one plausible bug in apps/api or packages/db that the rest of the suite let through.
// - a page id belongs to its crawl: retrying another crawl's page through one's own crawl is a 404
//   (it answered the other account's page Markdown);
// - /scrape/{id} and /scrape-logs/{id} answer only scrape jobs (a crawl id is a 404, not a scrape);
// - a cancelled batch item polled as a scrape reads `failed` (scrape clients know no `cancelled`);
// - RateLimit-Reset and Retry-After are seconds, within the window (JS 0.4+ waits that long);
// - the batch list counts completed and failed items as the batch poll does.
import { startFixtureSite, type FixtureSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crawl, startCrawl, type CrawlPage } from "./helpers/crawl.ts";
import { pollBatch } from "./helpers/batch.ts";
import { call } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

type Envelope = { status: string; message: string; error: string };

describe("crawl page ids across crawls and accounts", () => {
  let site: FixtureSite;
  let stack: TestStack;
  beforeAll(async () => {
    site = await startFixtureSite();
    stack = await startTestStack();
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await site?.close();
  });

  it("answers 404 to a retry naming a page of another crawl, and never that page's content", async () => {
    const a = await stack.createKey(100);
    const b = await stack.createKey(100);
    // No transformInstruction: a retry answers the page's stored Markdown as its data.
    const [aDone, bDone, aOther] = await Promise.all([
      crawl(stack.api, a.key, { baseUrl: site.url("/news"), maxPages: 1 }),
      crawl(stack.api, b.key, { baseUrl: site.url("/product/1"), maxPages: 1 }),
      crawl(stack.api, a.key, { baseUrl: site.url("/product/2"), maxPages: 1 }),
    ]);
    const pagesOf = async (key: string, jobId: string) =>
      (await call<{ pages: CrawlPage[] }>(`${stack.api}/crawl/${jobId}/pages`, { key })).body.pages;
    const [aPage] = await pagesOf(a.key, aDone.jobId);
    const [bPage] = await pagesOf(b.key, bDone.jobId);
    expect(aPage?.status).toBe("success");
    expect(bPage?.status).toBe("success");

    // Each owner can retry its own page (the route works).
    const own = await call<{ success: boolean; data: unknown }>(
      `${stack.api}/crawl/${aDone.jobId}/retry/${aPage!.id}`,
      { key: a.key, method: "POST", body: {} },
    );
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    expect(own.body.success).toBe(true);
    const aMarkdown = String(own.body.data);
    expect(aMarkdown.length).toBeGreaterThan(0);

    // B names A's page through B's own crawl: not B's page, so not found, and nothing of it shown.
    const stolen = await call<Envelope>(`${stack.api}/crawl/${bDone.jobId}/retry/${aPage!.id}`, {
      key: b.key,
      method: "POST",
      body: {},
    });
    expect(stolen.status, JSON.stringify(stolen.body)).toBe(404);
    expect(stolen.body.status).toBe("error");
    expect(JSON.stringify(stolen.body)).not.toContain(aMarkdown.slice(0, 40));

    // The same within one account: a page id of one crawl is not a page of another crawl.
    const crossed = await call<Envelope>(`${stack.api}/crawl/${aOther.jobId}/retry/${aPage!.id}`, {
      key: a.key,
      method: "POST",
      body: {},
    });
    expect(crossed.status, JSON.stringify(crossed.body)).toBe(404);
  }, 180_000);

  it("lists a finished batch with the same completed and failed counts as its own poll", async () => {
    const { key } = await stack.createKey(100);
    const submitted = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key,
      // One page that loads, one port nothing listens on (the item fails).
      body: { urls: [site.url("/product/3"), "http://127.0.0.1:9/gone"] },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const done = await pollBatch(stack.api, key, submitted.body.batchId);
    expect([done.completedCount, done.failedCount]).toEqual([1, 1]);
    const list = await call<{ jobs: Array<{ uuid: string; completedCount: number; failedCount: number }> }>(
      `${stack.api}/batch/scrape`,
      { key },
    );
    expect(list.status).toBe(200);
    const listed = list.body.jobs.find((j) => j.uuid === submitted.body.batchId);
    expect(listed, JSON.stringify(list.body)).toBeDefined();
    expect({ completed: listed!.completedCount, failed: listed!.failedCount }).toEqual({ completed: 1, failed: 1 });
  }, 120_000);
});

describe("without a worker (jobs stay pending)", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it("answers 404 on /scrape/{id} and /scrape-logs/{id} for a crawl's id, as for any non-scrape id", async () => {
    const { key } = await stack.createKey(100);
    const crawlId = await startCrawl(stack.api, key, { baseUrl: "http://127.0.0.1:9/", maxPages: 1 });
    // The crawl is the caller's own, and readable as a crawl.
    expect((await call(`${stack.api}/crawl/${crawlId}`, { key })).status).toBe(200);
    for (const path of [`/scrape/${crawlId}`, `/scrape-logs/${crawlId}`]) {
      const res = await call<Envelope>(`${stack.api}${path}`, { key });
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(404);
      expect(res.body.status).toBe("error");
      expect(res.body.error).toBe(res.body.message);
    }
    // And the crawl's id never shows up among the scrape logs.
    const logs = await call<{ data: { logs: unknown[] } }>(`${stack.api}/scrape-logs?limit=100`, { key });
    expect(logs.status).toBe(200);
    expect(JSON.stringify(logs.body)).not.toContain(crawlId);
  });

  it("refuses an Idempotency-Key past 255 characters with 400 before charging, and takes one of 255", async () => {
    const { key, accountId } = await stack.createKey(100);
    const body = { urls: [{ url: "http://127.0.0.1:9/idem" }] };
    const long = await call<Envelope & { errors?: string[] }>(`${stack.api}/scrape`, {
      key,
      body,
      headers: { "idempotency-key": "k".repeat(256) },
    });
    expect(long.status, JSON.stringify(long.body)).toBe(400);
    expect(long.body.message).toContain("Idempotency-Key");
    expect(long.body.errors?.length).toBeGreaterThan(0);
    expect(await stack.balance(accountId)).toBe(100);
    const ok = await call(`${stack.api}/scrape`, { key, body, headers: { "idempotency-key": "k".repeat(255) } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(202);
  });

  it("reads a cancelled batch item polled through /scrape/{jobId} as failed with an error (scrape clients know no cancelled)", async () => {
    const { key } = await stack.createKey(100);
    const submitted = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"] },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const { batchId } = submitted.body;
    const cancelled = await call<{ status: string; cancelledItems: number }>(`${stack.api}/batch/scrape/${batchId}`, {
      key,
      method: "DELETE",
    });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body.cancelledItems).toBe(2);
    const batch = await call<{ items: Array<{ jobId: string; status: string }> }>(
      `${stack.api}/batch/scrape/${batchId}`,
      { key },
    );
    expect(batch.body.items.map((i) => i.status)).toEqual(["cancelled", "cancelled"]);
    for (const item of batch.body.items) {
      const polled = await call<{ status: string; error: string | null; result: unknown }>(
        `${stack.api}/scrape/${item.jobId}`,
        { key },
      );
      expect(polled.status, JSON.stringify(polled.body)).toBe(200);
      expect(polled.body.status).toBe("failed");
      expect(typeof polled.body.error).toBe("string");
      expect(polled.body.result).toBeNull();
    }
  });
});

describe("rate-limit headers", () => {
  let stack: TestStack;
  const windowMs = 60_000;
  beforeAll(async () => {
    stack = await startTestStack({
      worker: false,
      env: { RATE_LIMIT_MAX: "2", RATE_LIMIT_WINDOW_MS: String(windowMs) },
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it("give RateLimit-Reset and Retry-After in seconds, never past the window", async () => {
    const { key } = await stack.createKey(100);
    const url = `${stack.api}/scrape/00000000-0000-0000-0000-000000000000`;
    const answers = [];
    for (let i = 0; i < 3; i += 1) answers.push(await call<Envelope>(url, { key }));
    expect(answers.map((a) => a.status)).toEqual([404, 404, 429]);
    const windowSeconds = windowMs / 1000;
    for (const res of answers) {
      const reset = Number(res.headers.get("ratelimit-reset"));
      expect(reset).toBeGreaterThan(0);
      expect(reset).toBeLessThanOrEqual(windowSeconds);
    }
    const refused = answers[2]!;
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
    expect((refused.body as unknown as { retry_after?: number }).retry_after ?? retryAfter).toBe(retryAfter);
  });
});
