import { PRODUCTS, startFixtureSite, type FixtureSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollBatch } from "./helpers/batch.ts";
import { call, pollScrape } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let stack: TestStack;
let key: string;
const jobIds: string[] = [];

type Log = Record<string, unknown> & { uuid: string; status: string };
type Logs = { status: string; data: { logs: Log[]; total: number; page: number; limit: number } };
type Usage = {
  status: string;
  data: Array<Record<string, unknown> & { label: string; date: string; requests: number }>;
};

beforeAll(async () => {
  site = await startFixtureSite();
  stack = await startTestStack();
  key = (await stack.createKey(100)).key;
  for (const path of ["/product/3", "/status/404"]) {
    const submit = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      body: { urls: [{ url: site.url(path) }] },
    });
    jobIds.push(submit.body.jobId);
    await pollScrape(stack.api, key, submit.body.jobId);
  }
  const batch = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
    key,
    body: { urls: [site.url("/news/3")] },
  });
  await pollBatch(stack.api, key, batch.body.batchId);
});
afterAll(async () => {
  await stack?.stop();
  await site?.close();
});

const logs = (query = "") => call<Logs>(`${stack.api}/scrape-logs${query}`, { key });
const today = new Date().toISOString().slice(0, 10);
const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);

describe("scrape logs", () => {
  it("lists scrapes and batch items newest first with every field typed", async () => {
    const res = await logs();
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("success");
    expect(res.body.data.total).toBe(3);
    expect(res.body.data.logs).toHaveLength(3);
    expect(res.body.data.logs[2]!.uuid).toBe(jobIds[0]);
    const ok = res.body.data.logs.find((l) => l.uuid === jobIds[0])!;
    expect(ok).toMatchObject({
      urls: [{ url: site.url("/product/3") }],
      status: "success",
      channel: "api",
      credits_used: 2,
      error_message: null,
      input_tokens: 0,
      output_tokens: 0,
      tokens_used: 0,
      use_proxy: 0,
      proxy_country: null,
      extraction_prompt: null,
    });
    expect(Number.isInteger(ok.latency_ms)).toBe(true);
    expect(typeof ok.started_at).toBe("string");
    expect(typeof ok.finished_at).toBe("string");
    expect(ok).not.toHaveProperty("result_data");
    const failed = res.body.data.logs.find((l) => l.uuid === jobIds[1])!;
    expect(failed.status).toBe("error");
    expect(failed.error_message).toContain("404");
  });

  it("filters by status (failed means error), search term, channel and inclusive dates, and clamps paging", async () => {
    expect((await logs("?status=success")).body.data.total).toBe(2);
    expect((await logs("?status=error")).body.data.logs.map((l) => l.uuid)).toEqual([jobIds[1]]);
    expect((await logs("?status=failed")).body.data.logs.map((l) => l.uuid)).toEqual([jobIds[1]]);
    expect((await logs("?status=in_progress")).body.data.total).toBe(0);
    expect((await logs("?searchTerm=PRODUCT/3")).body.data.logs.map((l) => l.uuid)).toEqual([jobIds[0]]);
    expect((await logs("?searchTerm=100%25")).body.data.total).toBe(0);
    expect((await logs("?channel=api")).body.data.total).toBe(3);
    expect((await logs("?channel=playground")).body.data.total).toBe(0);
    expect((await logs(`?dateStart=${today}&dateEnd=${today}`)).body.data.total).toBe(3);
    expect((await logs(`?dateEnd=${yesterday}`)).body.data.total).toBe(0);
    const paged = await logs("?page=0&limit=0");
    expect(paged.body.data).toMatchObject({ page: 1, limit: 10, total: 3 });
    const second = await logs("?page=2&limit=2");
    expect(second.body.data.logs).toHaveLength(1);
    expect((await logs("?limit=1000")).body.data.limit).toBe(100);
    for (const bad of ["?status=weird", "?dateStart=yesterday", `?dateStart=${today}&dateEnd=${yesterday}`]) {
      const res = await logs(bad);
      expect(res.status, bad).toBe(400);
    }
  });

  it("returns one log with its result data, and 404 for unknown or foreign ids", async () => {
    const res = await call<{ status: string; data: Log }>(`${stack.api}/scrape-logs/${jobIds[0]}`, { key });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ uuid: jobIds[0], captcha_solved_count: 0, scraped_sites_count: 1 });
    expect(res.body.data.result_data).toEqual(expect.stringContaining(PRODUCTS[2]!.name));
    expect((await call(`${stack.api}/scrape-logs/00000000-0000-0000-0000-000000000000`, { key })).status).toBe(404);
    expect((await call(`${stack.api}/scrape-logs/nope`, { key })).status).toBe(404);
    const other = await stack.createKey(1);
    expect((await call(`${stack.api}/scrape-logs/${jobIds[0]}`, { key: other.key })).status).toBe(404);
    expect((await call<Logs>(`${stack.api}/scrape-logs`, { key: other.key })).body.data.total).toBe(0);
  });
});

describe("usage statistics", () => {
  it("answers 7d, 30d and weekly rows with integer counts, today's usage in the last row", async () => {
    const week = await call<Usage>(`${stack.api}/usage-stats?range=7d`, { key });
    expect(week.status).toBe(200);
    expect(week.body.status).toBe("success");
    expect(week.body.data).toHaveLength(7);
    const last = week.body.data[6]!;
    expect(last.date).toBe(today);
    expect(last.label).toMatch(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)$/);
    // proxyBytes (an extra field): nothing went through an upstream proxy.
    expect(last).toMatchObject({ requests: 3, crawls: 0, tokens: 0, captchas: 0, credits: 4, proxyBytes: 0 });
    expect(typeof last.latency).toBe("number");
    for (const row of week.body.data) {
      for (const k of ["requests", "crawls", "tokens", "captchas", "proxyBytes"]) {
        expect(Number.isInteger(row[k]), k).toBe(true);
      }
    }
    expect(week.body.data.slice(0, 6).every((r) => r.requests === 0)).toBe(true);

    const month = await call<Usage>(`${stack.api}/usage-stats?range=30d`, { key });
    expect(month.body.data).toHaveLength(30);
    expect(month.body.data[29]!.label).toMatch(/^[A-Z][a-z]{2} \d{1,2}$/);
    const weekly = await call<Usage>(`${stack.api}/usage-stats?range=weekly`, { key });
    expect(weekly.body.data).toHaveLength(7);
    expect(weekly.body.data[6]!.requests).toBe(3);
    expect(weekly.body.data[6]!.date).toMatch(/^[A-Z][a-z]{2} \d{1,2} – [A-Z][a-z]{2} \d{1,2}$/);
  });

  it("requires a valid range on the canonical path and defaults the aliases to 30d", async () => {
    for (const q of ["", "?range=", "?range=1y"]) {
      const res = await call<{ status: string; message: string; error: string }>(`${stack.api}/usage-stats${q}`, {
        key,
      });
      expect(res.status, q).toBe(400);
      expect(res.body.error).toBe(res.body.message);
    }
    for (const alias of ["/account/usage", "/usage"]) {
      const res = await call<Usage>(`${stack.api}${alias}`, { key });
      expect(res.status).toBe(200);
      expect(res.body.data).toHaveLength(30);
      expect((await call<Usage>(`${stack.api}${alias}?range=7d`, { key })).body.data).toHaveLength(7);
    }
    const stranger = await stack.createKey(1);
    const empty = await call<Usage>(`${stack.api}/usage-stats?range=7d`, { key: stranger.key });
    expect(empty.body.data.every((r) => r.requests === 0)).toBe(true);
  });
});
