import { getBalance } from "@orbweaver/db";
import type { FixtureSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, pollScrape } from "./helpers/http.ts";
import { startSiteAndStack, startTestStack, useStarted, type TestStack } from "./helpers/stack.ts";

let stack: TestStack;
let site: FixtureSite;

useStarted(
  () => startSiteAndStack(),
  (started) => ({ site, stack } = started),
);

describe("scrape end to end", () => {
  it("queues, runs in Chromium and returns the page as Markdown with every contract field", async () => {
    const { key, accountId } = await stack.createKey(10);
    const submit = await call<{ status: string; jobId: string; message: string }>(`${stack.api}/scrape`, {
      key,
      body: { urls: [{ url: site.url("/product/1"), actions: [] }] },
    });
    expect(submit.status).toBe(202);
    expect(submit.body.status).toBe("queued");
    expect(submit.body.jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(submit.body.message).toContain(submit.body.jobId);
    expect(submit.headers.get("location")).toBe(`/api/scrape/${submit.body.jobId}`);

    const { final, seen } = await pollScrape(stack.api, key, submit.body.jobId);
    expect(final.status).toBe("completed");
    expect(seen[0]).toMatch(/waiting|active|completed/);
    expect(final.error).toBeNull();
    expect(final.progress).toEqual({ message: "Scrape completed successfully", progress: 1 });
    const result = final.result!;
    expect(typeof result.content).toBe("string");
    expect(result.content).toContain("$39.99");
    expect(result.data).toHaveLength(1);
    expect(result.data[0]).toMatchObject({ url: site.url("/product/1"), success: true, screenshotUrl: null });
    expect(result.data[0]!.title.length).toBeGreaterThan(0);
    expect(result.data[0]!.markdownContent).toBe(result.content);
    expect(result.screenshots).toEqual([]);
    expect(result.ai_extraction_failed).toBe(false);
    for (const k of ["durationMs", "captchaSolvedCount", "inputTokens", "outputTokens", "totalTokens"]) {
      expect(Number.isInteger(result.stats[k])).toBe(true);
    }
    expect(result.stats.totalTokens).toBe(0);
    // 2 credits per successful URL.
    expect(await getBalance(stack.db, accountId)).toBe(8);
  });

  it("renders script-built pages and concatenates several URLs, charging only the ones that succeeded", async () => {
    const { key, accountId } = await stack.createKey(10);
    const urls = [site.url("/spa"), site.url("/news"), site.url("/status/404")];
    const submit = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      body: { urls: urls.map((url) => ({ url })) },
    });
    expect(submit.status).toBe(202);
    const { final } = await pollScrape(stack.api, key, submit.body.jobId);
    expect(final.status).toBe("completed");
    const data = final.result!.data;
    expect(data.map((d) => d.url)).toEqual(urls);
    expect(data[0]!.markdownContent).toContain("Rendered by script");
    expect(data[1]!.markdownContent).toContain(`(${site.url("/news/1")})`);
    expect(data[2]!.success).toBe(false);
    expect(data[2]!.error).toContain("404");
    expect(final.result!.content).toContain("Rendered by script");
    expect(final.result!.content).toContain(data[1]!.markdownContent.slice(0, 40));
    expect(await getBalance(stack.db, accountId)).toBe(6);
  });

  it("fails a page that never answers within its timeout, refunds it, and the worker goes on", async () => {
    const { key, accountId } = await stack.createKey(10);
    const hanging = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      body: { urls: [{ url: site.url("/hang") }] },
    });
    const started = Date.now();
    const { final } = await pollScrape(stack.api, key, hanging.body.jobId);
    expect(final.status).toBe("failed");
    expect(typeof final.error).toBe("string");
    expect(final.error).toMatch(/did not load within/);
    expect(final.result).toBeNull();
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await getBalance(stack.db, accountId)).toBe(10);

    const next = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      body: { urls: [{ url: site.url("/") }] },
    });
    expect((await pollScrape(stack.api, key, next.body.jobId)).final.status).toBe("completed");
  });

  it("accepts the Bearer header and what each SDK sends (empty prompt, extra keys, n8n's empty actions)", async () => {
    const { key } = await stack.createKey(10);
    const submit = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      bearer: key,
      body: {
        urls: [{ url: site.url("/news/1"), actions: [] }],
        prompt: "",
        aiMode: true,
        scrapeMode: "default",
        proxyCountry: "",
      },
    });
    expect(submit.status).toBe(202);
    const { final } = await pollScrape(stack.api, key, submit.body.jobId);
    expect(final.status).toBe("completed");
    expect(final.result!.content).toEqual(expect.stringContaining("#"));
  });
});

describe("null options", () => {
  it("an optional field sent as null is unset, as if left out, on /scrape and /batch/scrape", async () => {
    const { key } = await stack.createKey(10);
    const nulls = {
      prompt: null,
      schema: null,
      output: null,
      useProxy: null,
      proxyCountry: null,
      extractContentOnly: null,
      screenshot: null,
      fullPageScreenshot: null,
      cookies: null,
      scrapeMode: null,
    };
    const submit = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      body: { urls: [{ url: site.url("/news/1") }], ...nulls },
    });
    expect(submit.status).toBe(202);
    const { final } = await pollScrape(stack.api, key, submit.body.jobId);
    expect(final.status).toBe("completed");
    // No prompt or schema: Markdown, no screenshot.
    expect(final.result!.content).toEqual(expect.stringContaining("#"));
    expect(final.result!.screenshots).toEqual([]);
    const batch = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: [site.url("/news/2")], ...nulls },
    });
    expect(batch.status).toBe(202);
    // A required field stays required.
    const noUrls = await call<{ message: string }>(`${stack.api}/scrape`, { key, body: { urls: null } });
    expect(noUrls.status).toBe(400);
  });
});

describe("PAGE_QUIET_MS and PAGE_SETTLE_MS", () => {
  let patient: TestStack;
  beforeAll(async () => {
    patient = await startTestStack({ env: { PAGE_QUIET_MS: "2000", PAGE_SETTLE_MS: "8000" } });
  });
  afterAll(async () => {
    await patient?.stop();
  });

  it("wait for a script that renders 1.5 s after load when the quiet window is longer than that", async () => {
    const { key } = await patient.createKey(10);
    const submit = await call<{ jobId: string }>(`${patient.api}/scrape`, {
      key,
      body: { urls: [{ url: site.url("/spa?delay=1500") }] },
    });
    expect(submit.status).toBe(202);
    const { final } = await pollScrape(patient.api, key, submit.body.jobId);
    expect(final.status).toBe("completed");
    expect(final.result!.content).toContain("Rendered item 5");
  });
});
