import { waitFor, type FixtureSite, type OpenAIServer, type ScriptedReply } from "@orbweaver/testkit";
import { beforeEach, describe, expect, it } from "vitest";
import { ledgerGap } from "./helpers/batch.ts";
import { crawl, pathsOf, pollCrawl, readZip, startCrawl, type CrawlBody, type CrawlPage } from "./helpers/crawl.ts";
import { call } from "./helpers/http.ts";
import { startModelStack, useStarted, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let model: OpenAIServer;
let stack: TestStack;
let reply: ScriptedReply;

useStarted(
  () => startModelStack({ LLM_MODEL: "test-model", MAX_PENDING_CRAWLS: "3", CREDITS_PER_1K_TOKENS: "1" }),
  (started) => ({ site, model, stack } = started),
);
beforeEach(() => {
  model.reset();
  reply = { content: { title: "From the model" }, usage: { prompt_tokens: 500, completion_tokens: 30 } };
  model.setDefault(() => reply);
});

const pagesOf = async (key: string, jobId: string) =>
  (await call<{ pages: CrawlPage[] }>(`${stack.api}/crawl/${jobId}/pages`, { key })).body.pages;

describe("cancel", () => {
  it("stops a running crawl, keeps and bills its processed pages, refunds the rest, and refuses a second cancel", async () => {
    const { key, accountId } = await stack.createKey(100);
    const jobId = await startCrawl(stack.api, key, { baseUrl: site.url("/site-slow/"), maxPages: 10 });
    await waitFor(async () => (await pagesOf(key, jobId)).filter((p) => p.status === "success").length >= 2, {
      timeoutMs: 30_000,
      message: "two pages crawled",
    });
    const del = await call<Record<string, unknown>>(`${stack.api}/crawl/${jobId}`, { key, method: "DELETE" });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ status: "cancelled", jobId });
    const again = await call<Record<string, unknown>>(`${stack.api}/crawl/${jobId}`, { key, method: "DELETE" });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: "ALREADY_TERMINAL", status: "error" });
    expect(again.body.error).toBe(again.body.message);

    const polled = await call<CrawlBody>(`${stack.api}/crawl/${jobId}`, { key });
    expect(polled.body).toMatchObject({ status: "cancelled", result: null, error: null });
    const kept = await pagesOf(key, jobId);
    const successes = kept.filter((p) => p.status === "success").length;
    expect(successes).toBeGreaterThanOrEqual(2);
    expect(kept.every((p) => p.status === "success")).toBe(true);
    // A page in flight at cancel time is dropped: nothing is added afterwards.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await pagesOf(key, jobId)).toHaveLength(kept.length);

    const job = await call<{ credits_used: number; status: string }>(`${stack.api}/crawl/job/${jobId}`, { key });
    expect(job.body).toMatchObject({ status: "cancelled", credits_used: successes * 2 });
    expect(await ledgerGap(stack.pool, accountId, 100)).toBe(0);

    const zip = await fetch(`${stack.api}/crawl/${jobId}/download?include=markdown`, { headers: { "x-api-key": key } });
    expect(zip.status).toBe(200);
    const index = JSON.parse(
      readZip(Buffer.from(await zip.arrayBuffer()))
        .get("index.json")!
        .toString(),
    ) as {
      pages: unknown[];
    };
    expect(index.pages).toHaveLength(successes);
    const extract = await call(`${stack.api}/crawl/${jobId}/extract`, { key, body: { transformInstruction: "x" } });
    expect(extract.status).toBe(400);
  });

  it("limits pending crawls per account (429 TOO_MANY_PENDING_JOBS)", async () => {
    const { key, accountId } = await stack.createKey(200);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await startCrawl(stack.api, key, { baseUrl: site.url(`/site-slow/?n=${i}`), maxPages: 10 }));
    }
    const fourth = await call<Record<string, unknown>>(`${stack.api}/crawl`, {
      key,
      body: { baseUrl: site.url("/site-slow/"), maxPages: 1 },
    });
    expect(fourth.status).toBe(429);
    expect(fourth.body).toMatchObject({ code: "TOO_MANY_PENDING_JOBS" });
    for (const id of ids) expect((await call(`${stack.api}/crawl/${id}`, { key, method: "DELETE" })).status).toBe(200);
    expect(await ledgerGap(stack.pool, accountId, 200)).toBe(0);
  });
});

describe("extract and retry", () => {
  it("re-extracts a completed crawl's stored pages as a new crawl job, charging only tokens", async () => {
    const { key, accountId } = await stack.createKey(100);
    const source = await crawl(stack.api, key, { baseUrl: site.url("/site/"), maxPages: 2 });
    expect(model.chatRequests()).toHaveLength(0);
    const res = await call<{ status: string; jobId: string; message: string }>(
      `${stack.api}/crawl/${source.jobId}/extract`,
      { key, body: { transformInstruction: "Get the page title" } },
    );
    expect(res.status).toBe(202);
    expect(res.body.status).toBe("queued");
    expect(res.body.jobId).not.toBe(source.jobId);
    expect(res.body.message).toBe(`Extraction job queued. Poll /api/crawl/${res.body.jobId} for results.`);
    const { final } = await pollCrawl(stack.api, key, res.body.jobId);
    expect(final.status).toBe("completed");
    expect(pathsOf(final.result!)).toEqual(pathsOf(source.result!));
    expect(final.result!.map((p) => p.data)).toEqual([{ title: "From the model" }, { title: "From the model" }]);
    expect(final.result!.map((p) => p.htmlKey)).toEqual(source.result!.map((p) => p.htmlKey));
    const chats = model.chatRequests();
    expect(chats).toHaveLength(2);
    expect(chats[0]!.promptText).toContain("Get the page title");
    expect(chats[0]!.promptText).toContain("Welcome to Acme");

    const record = await call<Record<string, unknown>>(`${stack.api}/crawl/job/${res.body.jobId}`, { key });
    expect(record.body).toMatchObject({
      source_job_id: source.jobId,
      transform_instruction: "Get the page title",
      pages_crawled: 2,
      input_tokens: 1000,
      output_tokens: 60,
      credits_used: 1.06,
    });
    const history = await call<{ jobs: Array<Record<string, unknown>> }>(`${stack.api}/crawl/history`, { key });
    expect(history.body.jobs[0]).toMatchObject({ id: res.body.jobId, source_job_id: source.jobId });
    expect(await ledgerGap(stack.pool, accountId, 100)).toBeCloseTo(0, 6);
  });

  it("refuses extractions without an instruction, with one too long, of unknown or unfinished crawls", async () => {
    const { key } = await stack.createKey(100);
    const source = await crawl(stack.api, key, { baseUrl: site.url("/site/"), maxPages: 1 });
    const post = (id: string, body?: unknown) =>
      call<{ message: string }>(`${stack.api}/crawl/${id}/extract`, { key, ...(body ? { body } : { method: "POST" }) });
    expect(await post(source.jobId)).toMatchObject({
      status: 400,
      body: { message: "Missing required field: transformInstruction" },
    });
    expect((await post(source.jobId, { transformInstruction: "" })).status).toBe(400);
    expect(await post(source.jobId, { transformInstruction: "x".repeat(5001) })).toMatchObject({
      status: 400,
      body: { message: "transformInstruction must be 5000 characters or fewer" },
    });
    expect(await post("00000000-0000-4000-8000-000000000000", { transformInstruction: "x" })).toMatchObject({
      status: 404,
      body: { message: "Source crawl job not found" },
    });
    const running = await startCrawl(stack.api, key, { baseUrl: site.url("/site-slow/"), maxPages: 3 });
    expect(await post(running, { transformInstruction: "x" })).toMatchObject({
      status: 400,
      body: { message: "Source crawl job has not completed successfully" },
    });
    await call(`${stack.api}/crawl/${running}`, { key, method: "DELETE" });
  });

  it("retries one page's extraction synchronously; model failures answer success:false with error and message", async () => {
    const { key, accountId } = await stack.createKey(100);
    const done = await crawl(stack.api, key, {
      baseUrl: site.url("/site/docs/api/"),
      maxPages: 5,
      transformInstruction: "Get the page title",
    });
    const page = done.result![0]!;
    expect(page.data).toEqual({ title: "From the model" });
    const usage = async () => {
      const res = await call<{ data: Array<{ tokens: number; credits: number }> }>(
        `${stack.api}/usage-stats?range=7d`,
        {
          key,
        },
      );
      const sum = (f: "tokens" | "credits") => res.body.data.reduce((n, row) => n + row[f], 0);
      return { tokens: sum("tokens"), credits: sum("credits") };
    };
    const before = await usage();
    reply = { content: { title: "Second pass" }, usage: { prompt_tokens: 400, completion_tokens: 20 } };
    const url = `${stack.api}/crawl/${done.jobId}/retry/${page.id}`;
    const ok = await call<Record<string, unknown>>(url, {
      key,
      method: "POST",
      headers: { "content-type": "application/json" },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({
      success: true,
      data: { title: "Second pass" },
      tokensUsed: 420,
      creditsUsed: 0.42,
      message: "Page re-extracted.",
    });
    const stored = (await pagesOf(key, done.jobId)).find((p) => p.id === page.id)!;
    expect(stored.data).toEqual({ title: "Second pass" });
    // The usage statistics count the re-extraction's tokens and credits (on the crawl's day).
    const after = await usage();
    expect(after.tokens - before.tokens).toBe(420);
    expect(after.credits - before.credits).toBeCloseTo(0.42, 6);

    reply = { status: 500 };
    const failed = await call<Record<string, unknown>>(url, { key, body: {} });
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({ success: false, data: { title: "Second pass" }, creditsUsed: 0 });
    expect(typeof failed.body.error).toBe("string");
    expect(failed.body.message).toBe(failed.body.error);

    const broken = done.result!.find((p) => p.status === "failed")!;
    const refused = await call<Record<string, unknown>>(`${stack.api}/crawl/${done.jobId}/retry/${broken.id}`, {
      key,
      method: "POST",
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe(refused.body.message);
    expect(await ledgerGap(stack.pool, accountId, 100)).toBeCloseTo(0, 6);

    const running = await startCrawl(stack.api, key, { baseUrl: site.url("/site-slow/"), maxPages: 3 });
    await waitFor(async () => (await pagesOf(key, running)).length > 0, { timeoutMs: 20_000 });
    const early = await call(`${stack.api}/crawl/${running}/retry/${(await pagesOf(key, running))[0]!.id}`, {
      key,
      method: "POST",
    });
    expect(early.status).toBe(400);
    await call(`${stack.api}/crawl/${running}`, { key, method: "DELETE" });
  });
});
