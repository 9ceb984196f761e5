import type { FixtureSite, OpenAIServer } from "@orbweaver/testkit";
import { beforeEach, describe, expect, it } from "vitest";
import { ledgerGap } from "./helpers/batch.ts";
import { crawl, pollCrawl, startCrawl, startWebhookReceiver, type CrawlPage } from "./helpers/crawl.ts";
import { call } from "./helpers/http.ts";
import { accountWith, scrapeRow } from "./helpers/job-rows.ts";
import { startModelStack, useStarted, type TestStack } from "./helpers/stack.ts";

/**
 * Mutation audit of crawls (settlement, webhooks, re-extraction) and of the scrape logs: each case
 * here failed with a plausible bug that the rest of the suite let through (see notes/mut-crawl2.md).
 */

let site: FixtureSite;
let model: OpenAIServer;
let stack: TestStack;

useStarted(
  () => startModelStack({ LLM_MODEL: "test-model", CREDITS_PER_1K_TOKENS: "1" }),
  (started) => ({ site, model, stack } = started),
);
beforeEach(() => {
  model.reset();
  model.setDefault(() => ({
    content: { title: "From the model" },
    usage: { prompt_tokens: 500, completion_tokens: 30 },
  }));
});

describe("crawl webhooks when some pages fail", () => {
  it("reports a failed page's error in crawl.page, and counts only the pages scraped in crawl.completed", async () => {
    const { key, accountId } = await stack.createKey(100);
    const receiver = await startWebhookReceiver();
    try {
      // Nine docs pages and one broken link (404): the same crawl the discovery tests make.
      const jobId = await startCrawl(stack.api, key, {
        baseUrl: site.url("/site/"),
        maxPages: 10,
        includePaths: ["/site/docs/*"],
        webhookUrl: receiver.url,
      });
      const { final } = await pollCrawl(stack.api, key, jobId);
      expect(final.status).toBe("completed");
      await receiver.delivered("crawl.completed");
      const pages = receiver.received.filter((h) => h.body.event === "crawl.page").map((h) => h.body.page);
      expect(pages).toHaveLength(10);
      const broken = pages.find((p) => (p as { status: string }).status === "failed") as Record<string, unknown>;
      expect(broken).toMatchObject({ url: site.url("/site/docs/api/v1"), data: null, ai_extraction_failed: false });
      expect(broken.error_message).toContain("404");
      const good = pages.find((p) => (p as { status: string }).status === "success") as Record<string, unknown>;
      expect(good).toMatchObject({ error_message: null, ai_extraction_failed: false });
      const completed = receiver.received.find((h) => h.body.event === "crawl.completed")!.body;
      // The failed page is crawled but neither scraped nor charged.
      expect(completed).toEqual({ event: "crawl.completed", jobId, pagesScraped: 9, creditsUsed: 18 });
      expect(await ledgerGap(stack.pool, accountId, 100)).toBe(0);
    } finally {
      await receiver.close();
    }
  });
});

describe("re-extraction with an empty balance", () => {
  it("refuses POST /crawl/{id}/extract and a page retry with 403 once the crawl used the last credit", async () => {
    // 4 credits: the reservation of two pages; the model tokens take what is left, down to 0.
    const { key, accountId } = await stack.createKey(4);
    const done = await crawl(stack.api, key, {
      baseUrl: site.url("/site/"),
      maxPages: 2,
      transformInstruction: "Give the page title",
    });
    expect(done.result!.filter((p) => p.status === "success")).toHaveLength(2);
    expect(await stack.balance(accountId)).toBe(0);
    const calls = model.requests.length;

    const page = done.result![0] as CrawlPage;
    const retry = await call<Record<string, unknown>>(`${stack.api}/crawl/${done.jobId}/retry/${page.id}`, {
      key,
      method: "POST",
    });
    expect(retry.status, JSON.stringify(retry.body)).toBe(403);
    expect(retry.body).toMatchObject({ status: "error" });
    expect(String(retry.body.message)).toContain("no credits left");

    const extract = await call<Record<string, unknown>>(`${stack.api}/crawl/${done.jobId}/extract`, {
      key,
      body: { transformInstruction: "Again" },
    });
    expect(extract.status, JSON.stringify(extract.body)).toBe(403);
    expect(extract.body).toMatchObject({ status: "error" });
    expect(String(extract.body.message)).toContain("no credits left");
    // Neither called the model nor moved a credit.
    expect(model.requests.length).toBe(calls);
    expect(await stack.balance(accountId)).toBe(0);
    expect(await ledgerGap(stack.pool, accountId, 4)).toBeCloseTo(0, 6);
  });
});

describe("submit limits", () => {
  it("accepts maxPages equal to the MAX_CRAWL_PAGES cap (50) and refuses 51", async () => {
    const { key, accountId } = await stack.createKey(1000);
    const over = await call<Record<string, unknown>>(`${stack.api}/crawl`, {
      key,
      body: { baseUrl: site.url("/site/"), maxPages: 51 },
    });
    expect(over.status).toBe(400);
    const jobId = await startCrawl(stack.api, key, { baseUrl: site.url("/site/nowhere"), maxPages: 50 });
    // Reserved at 2 credits a page, all of it refunded: the only page is a 404.
    await pollCrawl(stack.api, key, jobId);
    const reserve = await stack.pool.query<{ delta: number }>(
      "select delta::float from credit_ledger where job_id = $1 and reason = 'reserve'",
      [jobId],
    );
    expect(reserve.rows).toEqual([{ delta: -100 }]);
    expect(await stack.balance(accountId)).toBe(1000);
  });
});

describe("scrape logs date filters", () => {
  it("includes a job created exactly at midnight of dateStart, and excludes one at midnight after dateEnd", async () => {
    const row = (url: string, createdAt: string) => scrapeRow(url, { createdAt: new Date(createdAt) });
    const { key } = await accountWith(stack, [
      row("http://a.test/before", "2026-03-01T23:59:59.999Z"),
      row("http://a.test/start", "2026-03-02T00:00:00.000Z"),
      row("http://a.test/end", "2026-03-03T23:59:59.999Z"),
      row("http://a.test/after", "2026-03-04T00:00:00.000Z"),
    ]);
    const res = await call<{ data: { logs: Array<{ urls: Array<{ url: string }> }>; total: number } }>(
      `${stack.api}/scrape-logs?dateStart=2026-03-02&dateEnd=2026-03-03`,
      { key },
    );
    expect(res.status).toBe(200);
    expect(res.body.data.logs.map((l) => l.urls[0]?.url)).toEqual(["http://a.test/end", "http://a.test/start"]);
    expect(res.body.data.total).toBe(2);
  });

  it("searches for % and _ literally, not as SQL wildcards", async () => {
    const { key } = await accountWith(stack, [
      scrapeRow("http://a.test/plain"),
      scrapeRow("http://a.test/a_b?off=50%25"),
    ]);
    const search = async (term: string) =>
      (
        await call<{ data: { logs: Array<{ urls: Array<{ url: string }> }>; total: number } }>(
          `${stack.api}/scrape-logs?searchTerm=${encodeURIComponent(term)}`,
          { key },
        )
      ).body.data;
    for (const term of ["_", "%", "a_b"]) {
      const found = await search(term);
      expect(
        found.logs.map((l) => l.urls[0]?.url),
        term,
      ).toEqual(["http://a.test/a_b?off=50%25"]);
      expect(found.total, term).toBe(1);
    }
  });
});

describe("usage statistics latency", () => {
  it("averages the latency of completed scrapes only, not of failed ones", async () => {
    const scrape = (status: "completed" | "failed", durationMs: number) =>
      scrapeRow("http://a.test/", {
        status,
        stats: { durationMs },
        creditsUsed: 0,
        creditsReserved: 0,
        finishedAt: new Date(),
      });
    const { key } = await accountWith(stack, [
      scrape("completed", 200),
      scrape("completed", 400),
      scrape("failed", 30_000),
    ]);
    const res = await call<{ data: Array<{ requests: number; latency: number }> }>(
      `${stack.api}/usage-stats?range=7d`,
      { key },
    );
    expect(res.body.data.at(-1)).toMatchObject({ requests: 3, latency: 300 });
  });
});
