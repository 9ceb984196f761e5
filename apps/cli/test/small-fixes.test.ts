import { waitFor } from "@orbweaver/testkit";
import { beforeEach, describe, expect, it } from "vitest";
import { pollBatch } from "./helpers/batch.ts";
import { crawl, startCrawl, type CrawlPage } from "./helpers/crawl.ts";
import { call, pollScrape } from "./helpers/http.ts";
import { accountWith, scrapeRow } from "./helpers/job-rows.ts";
import { startModelStack, useStarted, type ModelStack, type TestStack } from "./helpers/stack.ts";

/**
 * Three small fixes, each seen through the HTTP API: the credits 403 carries its code, crawl token
 * sums past 2^31 - 1 are read (not a 500), and (in packages/browser/test/net) the SSRF refusal of a
 * host name does not print the address it resolved to.
 */

type Envelope = { status: string; message: string; error: string; code?: string };

let site: ModelStack["site"];
let model: ModelStack["model"];
let stack: TestStack;

useStarted(
  // A page timeout long enough that a crawl of /slow is still running when the test cancels it.
  () => startModelStack({ LLM_MODEL: "test-model", CREDITS_PER_1K_TOKENS: "1", PAGE_TIMEOUT_MS: "30000" }),
  (started) => ({ site, model, stack } = started),
);
beforeEach(() => {
  model.reset();
  model.setDefault(() => ({
    content: { title: "From the model" },
    usage: { prompt_tokens: 500, completion_tokens: 30 },
  }));
});

/** The contract's 403 for a balance that cannot pay, with the code JS-0.4+ and Go read. */
function expectNoCredits(res: { status: number; body: Envelope }, message: RegExp) {
  expect(res.status, JSON.stringify(res.body)).toBe(403);
  expect(res.body).toMatchObject({ status: "error", code: "INSUFFICIENT_CREDITS" });
  expect(res.body.message).toMatch(message);
  expect(res.body.error).toBe(res.body.message);
}

describe("403 for not enough credits carries code INSUFFICIENT_CREDITS", () => {
  it("on scrape, batch and crawl submits; an invalid key's 403 has no code", async () => {
    const { key } = await stack.createKey(1);
    const scrape = await call<Envelope>(`${stack.api}/scrape`, { key, body: { urls: [{ url: site.url("/") }] } });
    expectNoCredits(scrape, /not enough credits for this scrape/);
    const batch = await call<Envelope>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: [site.url("/"), site.url("/news")] },
    });
    expectNoCredits(batch, /Not enough credits to reserve 2 × 2 credits for this batch/);
    const crawlRes = await call<Envelope>(`${stack.api}/crawl`, {
      key,
      body: { baseUrl: site.url("/site/"), maxPages: 5 },
    });
    expectNoCredits(crawlRes, /Not enough credits to reserve 5 × 2 credits for this crawl/);

    const invalid = await call<Envelope>(`${stack.api}/scrape`, {
      key: "spd_not_a_key",
      body: { urls: [{ url: site.url("/") }] },
    });
    expect(invalid.status).toBe(403);
    expect(invalid.body.message).toBe("Invalid token or API key");
    expect(invalid.body).not.toHaveProperty("code");
  });

  it("on a batch retry the balance cannot cover", async () => {
    const { key, accountId } = await stack.createKey(4);
    const submit = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: [site.url("/"), site.url("/status/503")] },
    });
    expect(submit.status).toBe(202);
    expect((await pollBatch(stack.api, key, submit.body.batchId)).failedCount).toBe(1);
    // The failed item was refunded: spend those 2 credits, then the retry cannot reserve its item.
    const spend = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      body: { urls: [{ url: site.url("/") }] },
    });
    expect((await pollScrape(stack.api, key, spend.body.jobId)).final.status).toBe("completed");
    expect(await stack.balance(accountId)).toBe(0);
    const retry = await call<Envelope>(`${stack.api}/batch/scrape/${submit.body.batchId}/retry`, { key, body: {} });
    expectNoCredits(retry, /Not enough credits to retry the failed items/);
  });

  it("on a crawl extraction and a page retry once the balance is spent", async () => {
    // 4 credits: the reservation of two pages; the model tokens take what is left, down to 0.
    const { key, accountId } = await stack.createKey(4);
    const done = await crawl(stack.api, key, {
      baseUrl: site.url("/site/"),
      maxPages: 2,
      transformInstruction: "Give the page title",
    });
    expect(await stack.balance(accountId)).toBe(0);
    const page = done.result![0] as CrawlPage;
    const retry = await call<Envelope>(`${stack.api}/crawl/${done.jobId}/retry/${page.id}`, { key, method: "POST" });
    expectNoCredits(retry, /no credits left for the re-extraction/);
    const extract = await call<Envelope>(`${stack.api}/crawl/${done.jobId}/extract`, {
      key,
      body: { transformInstruction: "Again" },
    });
    expectNoCredits(extract, /no credits left for the extraction/);
  });
});

/** Per-page token counts (each fits a Postgres integer) whose sums over the crawl do not. */
const IN = 2_000_000_000;
const OUT = 1_500_000_000;

type CrawlRecord = Record<string, unknown> & { id: string; input_tokens: number; output_tokens: number };
type Usage = { status: string; data: Array<{ date: string; tokens: number; captchas: number; crawls: number }> };

async function seedPage(crawlId: string, path: string, extra: { in: number; out: number }) {
  await stack.pool.query(
    `insert into crawl_pages (crawl_id, url, url_key, depth, order_key, status, input_tokens, output_tokens)
     values ($1, $2, $2, 1, array[9, 9], 'success', $3, $4)`,
    [crawlId, site.url(path), extra.in, extra.out],
  );
}

describe("crawl token sums past 2^31 - 1", () => {
  it("GET /crawl/job/{id} and /crawl/history answer the exact sums, as numbers", async () => {
    const { key } = await stack.createKey(100);
    const done = await crawl(stack.api, key, { baseUrl: site.url("/site/"), maxPages: 2 });
    const updated = await stack.pool.query(
      "update crawl_pages set input_tokens = $2, output_tokens = $3 where crawl_id = $1 and status = 'success'",
      [done.jobId, IN, OUT],
    );
    expect(updated.rowCount).toBe(2);

    const job = await call<CrawlRecord>(`${stack.api}/crawl/job/${done.jobId}`, { key });
    expect(job.status, JSON.stringify(job.body)).toBe(200);
    expect(job.body.input_tokens).toBe(2 * IN);
    expect(job.body.output_tokens).toBe(2 * OUT);

    const history = await call<{ jobs: CrawlRecord[] }>(`${stack.api}/crawl/history`, { key });
    expect(history.status, JSON.stringify(history.body)).toBe(200);
    const listed = history.body.jobs.find((j) => j.id === done.jobId);
    expect(listed).toMatchObject({ input_tokens: 2 * IN, output_tokens: 2 * OUT });
  });

  it("a crawl cancelled with such pages settles, and its tokens reach the usage statistics", async () => {
    const { key } = await stack.createKey(100);
    // The base page answers after 20 s: the crawl is running, its page processing, when it is cancelled.
    const jobId = await startCrawl(stack.api, key, { baseUrl: site.url("/slow?ms=20000"), maxPages: 3 });
    await waitFor(
      async () =>
        (await stack.pool.query("select 1 from crawl_pages where crawl_id = $1 and status = 'processing'", [jobId]))
          .rowCount === 1,
      { timeoutMs: 30_000, message: "the crawl's first page to be processing" },
    );
    await seedPage(jobId, "/site/a", { in: IN, out: OUT });
    await seedPage(jobId, "/site/b", { in: IN, out: OUT });

    const cancel = await call<Record<string, unknown>>(`${stack.api}/crawl/${jobId}`, { key, method: "DELETE" });
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
    expect(cancel.body).toEqual({ status: "cancelled", jobId });

    const job = await call<CrawlRecord>(`${stack.api}/crawl/job/${jobId}`, { key });
    expect(job.status, JSON.stringify(job.body)).toBe(200);
    expect(job.body).toMatchObject({ status: "cancelled", input_tokens: 2 * IN, output_tokens: 2 * OUT });

    const usage = await call<Usage>(`${stack.api}/usage-stats?range=7d`, { key });
    expect(usage.status, JSON.stringify(usage.body)).toBe(200);
    const today = usage.body.data.at(-1)!;
    expect(today).toMatchObject({ crawls: 1, tokens: 2 * IN + 2 * OUT });
  });

  it("usage statistics sum captchas past 2^31 - 1 too", async () => {
    const stats = { durationMs: 10, captchaSolvedCount: IN, inputTokens: IN, outputTokens: OUT, totalTokens: IN + OUT };
    const { key } = await accountWith(
      stack,
      [scrapeRow(site.url("/")), scrapeRow(site.url("/news"))].map((r) => ({
        ...r,
        stats,
      })),
    );
    const usage = await call<Usage>(`${stack.api}/usage-stats?range=7d`, { key });
    expect(usage.status, JSON.stringify(usage.body)).toBe(200);
    expect(usage.body.data.at(-1)).toMatchObject({ captchas: 2 * IN, tokens: 2 * (IN + OUT) });
  });
});
