import {
  getFreePort,
  startCaptchaProvider,
  startCaptchaSite,
  type CaptchaProvider,
  type CaptchaSite,
  type FixtureSite,
  type OpenAIServer,
} from "@orbweaver/testkit";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Server as ProxyServer } from "proxy-chain";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pollBatch, type BatchBody } from "./helpers/batch.ts";
import { crawl } from "./helpers/crawl.ts";
import { call, scrapeAndWait } from "./helpers/http.ts";
import { startModelStack, type ModelStack, type TestStack } from "./helpers/stack.ts";

// The accounting audit: every figure a client sees (job credits and stats, scrape logs, usage rows,
// batch items, crawl records) agrees with every other and with the credit ledger, whatever mix of
// scrapes, failures, model tokens, CAPTCHA solves, batches, retries, crawls and re-extractions.

const SOLVER_KEY = `solver-key-${Date.now()}-acct`;

let started: ModelStack;
let site: FixtureSite;
let model: OpenAIServer;
let stack: TestStack;
let provider: CaptchaProvider;
let walls: CaptchaSite;
let upstream: ProxyServer;
/** A page that answers 500 while `flakyDown`, then a page: a batch item that fails, then succeeds on retry. */
let flaky: Server;
let flakyDown = true;

beforeAll(async () => {
  flaky = createServer((_req, res) => {
    res.writeHead(flakyDown ? 500 : 200, { "content-type": "text/html; charset=utf-8" });
    res.end(
      flakyDown
        ? "<html><body><h1>Internal Server Error</h1></body></html>"
        : "<html><head><title>Back</title></head><body><h1>Back online</h1><p>This page answers again, with enough text to be a page of its own and not an error.</p></body></html>",
    );
  });
  await new Promise<void>((resolve) => flaky.listen(0, "127.0.0.1", resolve));
  const port = await getFreePort();
  upstream = new ProxyServer({ port, host: "127.0.0.1" });
  await upstream.listen();
  provider = await startCaptchaProvider({ clientKey: SOLVER_KEY });
  walls = await startCaptchaSite({ verify: (token) => provider.issued(token) });
  started = await startModelStack({
    LLM_MODEL: "test-model",
    CREDITS_PER_1K_TOKENS: "1",
    CAPTCHA_SOLVER: "createtask",
    CAPTCHA_SOLVER_URL: provider.url,
    CAPTCHA_SOLVER_KEY: SOLVER_KEY,
    CAPTCHA_SOLVER_POLL_MS: "250",
    BATCH_CONCURRENCY: "2",
    PROXY_POOL: `us=http://127.0.0.1:${port}`,
  });
  ({ site, model, stack } = started);
});
afterAll(async () => {
  await started?.stop();
  await walls?.close();
  await provider?.close();
  await upstream?.close(true);
  await new Promise((resolve) => flaky?.close(resolve));
});
beforeEach(() => {
  model.reset();
  model.setDefault(() => ({
    content: { title: "From the model" },
    usage: { prompt_tokens: 500, completion_tokens: 30 },
  }));
});

type Log = {
  uuid: string;
  status: string;
  credits_used: number;
  tokens_used: number;
  input_tokens: number;
  output_tokens: number;
};
type LogDetail = Log & { captcha_solved_count: number };
type UsageRow = {
  requests: number;
  crawls: number;
  tokens: number;
  captchas: number;
  credits: number;
  proxyBytes: number;
};
type CrawlRecord = { id: string; credits_used: number; input_tokens: number; output_tokens: number; status: string };

const near = (a: number, b: number, what: string) =>
  expect(Math.abs(a - b), `${what}: ${a} vs ${b}`).toBeLessThan(1e-6);

/**
 * Compares every figure of the account end to end (all its work must be finished): balance, ledger,
 * jobs, scrape logs, usage rows, batch items and crawl records. Returns the figures for more checks.
 */
async function audit(key: string, accountId: string, opening: number) {
  const db = stack.pool;
  const [account] = (
    await db.query<{ balance: number }>("select credits_balance::float as balance from accounts where id = $1", [
      accountId,
    ])
  ).rows;
  const ledger = (
    await db.query<{ job_id: string | null; reason: string; delta: number; note: string | null }>(
      "select job_id, reason, delta::float as delta, note from credit_ledger where account_id = $1 order by id",
      [accountId],
    )
  ).rows;
  const jobs = (
    await db.query<{
      id: string;
      kind: string;
      status: string;
      credits_reserved: number;
      credits_used: number;
      stats: Record<string, number> | null;
    }>("select id, kind, status, credits_reserved::float, credits_used::float, stats from jobs where account_id = $1", [
      accountId,
    ])
  ).rows;
  expect(jobs.filter((j) => !["completed", "failed", "cancelled"].includes(j.status))).toEqual([]);

  // Balance, ledger and jobs.
  const balance = account!.balance;
  expect(balance).toBeGreaterThanOrEqual(0);
  near(
    ledger.reduce((n, l) => n + l.delta, 0),
    balance,
    "Σ ledger = balance",
  );
  near(opening - jobs.reduce((n, j) => n + j.credits_used, 0), balance, "opening − Σ credits_used = balance");
  for (const job of jobs) {
    const own = ledger.filter((l) => l.job_id === job.id);
    for (const reason of ["reserve", "refund", "charge"]) {
      expect(own.filter((l) => l.reason === reason).length, `${job.id} ${reason} entries`).toBeLessThanOrEqual(1);
    }
    near(-(own.find((l) => l.reason === "reserve")?.delta ?? 0), job.credits_reserved, `${job.id} reserve`);
    // A crawl page's re-extraction is charged without a job id (a page may be retried many times).
    const retries = ledger.filter((l) => l.job_id === null && l.note?.startsWith(`crawl ${job.id} page `));
    near(-[...own, ...retries].reduce((n, l) => n + l.delta, 0), job.credits_used, `${job.id} ledger = credits_used`);
  }
  const unexplained = ledger.filter(
    (l) => l.job_id === null && l.reason !== "grant" && !jobs.some((j) => l.note?.startsWith(`crawl ${j.id} page `)),
  );
  expect(unexplained).toEqual([]);

  // Scrape logs: one per scrape job, with its credits and tokens.
  const logs: Log[] = [];
  for (let page = 1; ; page++) {
    const res = await call<{ data: { logs: Log[]; total: number } }>(
      `${stack.api}/scrape-logs?limit=100&page=${page}`,
      { key },
    );
    logs.push(...res.body.data.logs);
    if (logs.length >= res.body.data.total || res.body.data.logs.length === 0) break;
  }
  const scrapes = jobs.filter((j) => j.kind === "scrape");
  expect(logs.length).toBe(scrapes.length);
  let captchas = 0;
  for (const log of logs) {
    const job = scrapes.find((j) => j.id === log.uuid)!;
    near(log.credits_used, job.credits_used, `log ${log.uuid} credits`);
    expect(log.tokens_used, `log ${log.uuid} tokens`).toBe(job.stats?.totalTokens ?? 0);
    expect(log.tokens_used).toBe(log.input_tokens + log.output_tokens);
    const detail = await call<{ data: LogDetail }>(`${stack.api}/scrape-logs/${log.uuid}`, { key });
    near(detail.body.data.credits_used, log.credits_used, `log detail ${log.uuid} credits`);
    captchas += detail.body.data.captcha_solved_count;
  }

  // Crawl records (history and the flat record agree).
  const history = await call<{ jobs: CrawlRecord[]; total: number }>(`${stack.api}/crawl/history?limit=100`, { key });
  const crawlJobs = jobs.filter((j) => j.kind === "crawl");
  expect(history.body.total).toBe(crawlJobs.length);
  for (const record of history.body.jobs) {
    const job = crawlJobs.find((j) => j.id === record.id)!;
    near(record.credits_used, job.credits_used, `crawl ${record.id} credits`);
    expect(record.input_tokens + record.output_tokens, `crawl ${record.id} tokens`).toBe(job.stats?.totalTokens ?? 0);
    const flat = await call<CrawlRecord>(`${stack.api}/crawl/job/${record.id}`, { key });
    near(flat.body.credits_used, record.credits_used, `crawl record ${record.id} credits`);
    expect(flat.body.input_tokens).toBe(record.input_tokens);
  }

  // Batch items: their credits are their jobs'.
  const batches = await call<{ jobs: Array<{ uuid: string }> }>(`${stack.api}/batch/scrape?limit=50`, { key });
  const items: BatchBody["items"] = [];
  for (const b of batches.body.jobs) {
    const body = (await call<BatchBody>(`${stack.api}/batch/scrape/${b.uuid}`, { key })).body;
    for (const item of body.items) {
      near(item.creditsUsed, logs.find((l) => l.uuid === item.jobId)!.credits_used, `item ${item.uuid} credits`);
    }
    items.push(...body.items);
  }

  // Usage rows (all of it was today, UTC): the sums of the logs and the crawl records.
  const usage = await call<{ data: UsageRow[] }>(`${stack.api}/usage-stats?range=7d`, { key });
  const today = usage.body.data.at(-1)!;
  expect(today.requests).toBe(logs.length);
  expect(today.crawls).toBe(history.body.total);
  expect(today.captchas).toBe(captchas);
  expect(today.tokens).toBe(
    logs.reduce((n, l) => n + l.tokens_used, 0) +
      history.body.jobs.reduce((n, c) => n + c.input_tokens + c.output_tokens, 0),
  );
  near(
    today.credits,
    logs.reduce((n, l) => n + l.credits_used, 0) + history.body.jobs.reduce((n, c) => n + c.credits_used, 0),
    "usage credits = Σ logs + Σ crawls",
  );
  near(today.credits, opening - balance, "usage credits = what the balance lost");
  expect(today.proxyBytes).toBe(jobs.reduce((n, j) => n + (j.stats?.proxyBytes ?? 0), 0));
  return { balance, ledger, jobs, logs, items, today };
}

describe("accounting end to end", () => {
  it("scrapes: success, failure, model tokens, a CAPTCHA solve with tokens, partial success", async () => {
    const { key, accountId } = await stack.createKey(200);
    const ok = await scrapeAndWait(stack.api, key, { urls: [{ url: site.url("/product/1") }] });
    expect(ok.status).toBe("completed");
    const failed = await scrapeAndWait(stack.api, key, { urls: [{ url: site.url("/status/404") }] });
    expect(failed.status).toBe("failed");
    const ai = await scrapeAndWait(stack.api, key, { urls: [{ url: site.url("/product/2") }], prompt: "The title" });
    expect(ai.result!.stats.totalTokens).toBe(530);
    const partial = await scrapeAndWait(stack.api, key, {
      urls: [{ url: site.url("/product/3") }, { url: site.url("/status/500") }],
      prompt: "The title",
    });
    expect(partial.status).toBe("completed");
    provider.reset();
    const solved = await scrapeAndWait(
      stack.api,
      key,
      { urls: [{ url: walls.url("recaptcha") }], prompt: "The title" },
      90_000,
    );
    expect(solved.status, solved.error ?? "").toBe("completed");
    expect(solved.result!.stats.captchaSolvedCount).toBe(1);

    const { balance, logs } = await audit(key, accountId, 200);
    // 2 + 0 + (2 + 0.53) + (2 + 0.53) + (2 + 10 + 0.53)
    near(balance, 200 - 19.59, "balance");
    expect(logs.find((l) => l.uuid === solved.jobId)!.credits_used).toBeCloseTo(12.53, 6);
  });

  it("a batch with failing items, retried: an item that succeeds on retry is charged once, one failing again nothing", async () => {
    const { key, accountId } = await stack.createKey(100);
    const flakyUrl = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}/flaky`;
    const urls = [site.url("/product/1"), site.url("/status/404"), site.url("/product/2"), flakyUrl];
    flakyDown = true;
    const submit = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls, prompt: "The title" },
    });
    expect(submit.status).toBe(202);
    const first = await pollBatch(stack.api, key, submit.body.batchId);
    expect([first.completedCount, first.failedCount]).toEqual([2, 2]);
    flakyDown = false;
    const retry = await call<{ retriedCount: number }>(`${stack.api}/batch/scrape/${submit.body.batchId}/retry`, {
      key,
      method: "POST",
    });
    expect(retry.body.retriedCount).toBe(2);
    const second = await pollBatch(stack.api, key, submit.body.batchId);
    expect([second.completedCount, second.failedCount]).toEqual([3, 1]);
    const { balance, items, logs } = await audit(key, accountId, 100);
    expect(items.map((i) => i.creditsUsed)).toEqual([2.53, 0, 2.53, 2.53]);
    // Six scrape jobs: four items and the two retried ones (the first tries stay in the logs, at 0).
    expect(logs).toHaveLength(6);
    near(balance, 100 - 3 * 2.53, "balance");
  });

  it("a batch cancelled midway: running items billed, pending ones refunded, once", async () => {
    const { key, accountId } = await stack.createKey(100);
    const urls = Array.from({ length: 6 }, (_, i) => site.url(`/slow?ms=1500&acct=${i}`));
    const submit = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, { key, body: { urls } });
    expect(submit.status).toBe(202);
    await new Promise((r) => setTimeout(r, 500));
    const cancel = await call<{ cancelledItems: number; creditsRefunded: number }>(
      `${stack.api}/batch/scrape/${submit.body.batchId}`,
      { key, method: "DELETE" },
    );
    expect(cancel.status).toBe(200);
    expect(cancel.body.cancelledItems).toBeGreaterThan(0);
    expect(cancel.body.creditsRefunded).toBe(cancel.body.cancelledItems * 2);
    // Running items finish after the cancel.
    const final = await waitForItems(key, submit.body.batchId);
    expect(final.filter((i) => i.status === "cancelled")).toHaveLength(cancel.body.cancelledItems);
    const { balance } = await audit(key, accountId, 100);
    near(balance, 100 - 2 * final.filter((i) => i.status === "completed").length, "balance");
  });

  it("crawls with and without transformInstruction, a re-extraction and page retries", async () => {
    const { key, accountId } = await stack.createKey(100);
    const plain = await crawl(stack.api, key, { baseUrl: site.url("/site/"), maxPages: 3 });
    const extracted = await crawl(stack.api, key, {
      baseUrl: site.url("/site/"),
      maxPages: 3,
      transformInstruction: "Get the page title",
    });
    const again = await call<{ jobId: string }>(`${stack.api}/crawl/${plain.jobId}/extract`, {
      key,
      body: { transformInstruction: "Get the page title" },
    });
    expect(again.status).toBe(202);
    await crawlDone(key, again.body.jobId);
    const page = extracted.result!.find((p) => p.status === "success")!;
    for (let i = 0; i < 2; i++) {
      const res = await call<{ creditsUsed: number }>(`${stack.api}/crawl/${extracted.jobId}/retry/${page.id}`, {
        key,
        method: "POST",
      });
      expect(res.status).toBe(200);
      expect(res.body.creditsUsed).toBeCloseTo(0.53, 6);
    }
    await audit(key, accountId, 100);
  });
});

describe("proxy bandwidth", () => {
  it("counts the bytes a proxied scrape moved whether its URL succeeded or failed", async () => {
    const { key, accountId } = await stack.createKey(100);
    const ok = await scrapeAndWait(stack.api, key, { urls: [{ url: site.url("/news/1") }], useProxy: true });
    expect(ok.status).toBe("completed");
    const failed = await scrapeAndWait(stack.api, key, { urls: [{ url: site.url("/status/404") }], useProxy: true });
    expect(failed.status).toBe("failed");
    const { jobs } = await audit(key, accountId, 100);
    const bytes = (id: string) => jobs.find((j) => j.id === id)!.stats?.proxyBytes ?? 0;
    expect(bytes(ok.jobId)).toBeGreaterThan(0);
    // The 404 page came through the upstream proxy too: its bytes are the account's bandwidth.
    expect(bytes(failed.jobId)).toBeGreaterThan(0);
    const log = await call<{ data: { proxy_bandwidth_mb: number } }>(`${stack.api}/scrape-logs/${failed.jobId}`, {
      key,
    });
    expect(log.body.data.proxy_bandwidth_mb).toBe(Math.round((bytes(failed.jobId) / 1_048_576) * 1000) / 1000);
  });
});

describe("insufficient credits", () => {
  it("model tokens past the balance: charged as far as it goes, never below zero, every figure agreeing", async () => {
    const { key, accountId } = await stack.createKey(9);
    const urls = [site.url("/product/1"), site.url("/product/2"), site.url("/status/404")];
    const submit = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls, prompt: "The title" },
    });
    expect(submit.status).toBe(202);
    await pollBatch(stack.api, key, submit.body.batchId);
    let figures = await audit(key, accountId, 9);
    near(figures.balance, 9 - 4 - 1.06, "balance after the batch");
    // A crawl reserves its page; its tokens (5.03 credits) take what is left.
    model.setDefault(() => ({ content: { title: "Long" }, usage: { prompt_tokens: 5000, completion_tokens: 30 } }));
    const done = await crawl(stack.api, key, {
      baseUrl: site.url("/site/"),
      maxPages: 1,
      transformInstruction: "The title",
    });
    figures = await audit(key, accountId, 9);
    expect(figures.balance).toBe(0);
    near(figures.jobs.find((j) => j.id === done.jobId)!.credits_used, 2 + 1.94, "crawl credits");
    const refused = await call(`${stack.api}/scrape`, { key, body: { urls: [{ url: site.url("/product/1") }] } });
    expect(refused.status).toBe(403);
    const retry = await call(`${stack.api}/crawl/${done.jobId}/retry/${done.result![0]!.id}`, { key, method: "POST" });
    expect(retry.status).toBe(403);
    await audit(key, accountId, 9);
  });
});

async function waitForItems(key: string, batchId: string) {
  for (let i = 0; i < 100; i++) {
    const body = (await call<BatchBody>(`${stack.api}/batch/scrape/${batchId}`, { key })).body;
    if (body.items.every((it) => ["completed", "failed", "cancelled"].includes(it.status))) return body.items;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("batch items did not finish");
}

async function crawlDone(key: string, jobId: string) {
  for (let i = 0; i < 300; i++) {
    const res = await call<{ status: string }>(`${stack.api}/crawl/${jobId}`, { key });
    if (["completed", "failed", "cancelled"].includes(res.body.status)) return res.body.status;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("crawl did not finish");
}
