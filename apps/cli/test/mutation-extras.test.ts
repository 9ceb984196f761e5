import { createHmac } from "node:crypto";
import { ensureWebhookSecret } from "@orbweaver/db";
import type { FixtureSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollCrawl, startCrawl, startWebhookReceiver } from "./helpers/crawl.ts";
import { call, scrapeAndWait } from "./helpers/http.ts";
import { accountWith, scrapeRow as scrape } from "./helpers/job-rows.ts";
import { page, prose, servePages, type PageServer } from "./helpers/prose-page.ts";
import { startSiteAndStack, startTestStack, type TestStack } from "./helpers/stack.ts";

/**
 * Mutation round on the extras (scrape logs §9, usage §10, rate-limit headers §13, crawl webhooks
 * §8.4): each case kills a plausible bug the other suites let through. The log and usage cases
 * write job rows straight into Postgres (no worker): they are about how the gateway reads them.
 */

type Log = Record<string, unknown> & { uuid: string; status: string };
type Logs = { status: string; data: { logs: Log[]; total: number } };
type UsageRow = Record<string, unknown> & { label: string; date: string; requests: number; crawls: number };
type Usage = { status: string; data: UsageRow[] };

const RATE_MAX = 20;
const RATE_WINDOW_S = 60;

describe("without a worker", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({
      worker: false,
      env: { RATE_LIMIT_MAX: String(RATE_MAX), RATE_LIMIT_WINDOW_MS: String(RATE_WINDOW_S * 1000) },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const logs = (key: string, query = "") => call<Logs>(`${stack.api}/scrape-logs${query}`, { key });
  const usage = (key: string, range: string) => call<Usage>(`${stack.api}/usage-stats?range=${range}`, { key });

  it("keeps crawl jobs out of the scrape logs, listed or asked for by id", async () => {
    const { key, ids } = await accountWith(stack, [
      scrape("http://a.test/page"),
      { kind: "crawl", status: "completed", request: { baseUrl: "http://a.test/" }, creditsUsed: 4 },
    ]);
    const list = await logs(key);
    expect(list.body.data.total).toBe(1);
    expect(list.body.data.logs.map((l) => l.uuid)).toEqual([ids[0]]);
    expect((await call(`${stack.api}/scrape-logs/${ids[1]}`, { key })).status).toBe(404);
    expect((await call(`${stack.api}/scrape-logs/${ids[0]}`, { key })).status).toBe(200);
  });

  it("lists a job still waiting in the queue as in_progress", async () => {
    const { key, ids } = await accountWith(stack, [
      scrape("http://a.test/waiting", { status: "waiting", creditsUsed: 0 }),
      scrape("http://a.test/running", { status: "active", creditsUsed: 0 }),
      scrape("http://a.test/done"),
    ]);
    const list = await logs(key, "?status=in_progress");
    expect(list.body.data.total).toBe(2);
    expect(new Set(list.body.data.logs.map((l) => l.uuid))).toEqual(new Set([ids[0], ids[1]]));
    expect(list.body.data.logs.every((l) => l.status === "in_progress")).toBe(true);
  });

  it("reports tokens, proxy use, the output format and the sites scraped of a log", async () => {
    const { key, ids } = await accountWith(stack, [
      scrape("http://a.test/tokens", {
        request: {
          urls: [{ url: "http://a.test/tokens" }, { url: "http://a.test/missing" }],
          schema: { type: "object", properties: { name: { type: "string" } } },
          useProxy: true,
        },
        stats: { inputTokens: 30, outputTokens: 12, totalTokens: 42, durationMs: 100, proxyBytes: 3 * 1_048_576 },
        result: {
          content: { name: "x" },
          data: [
            { url: "http://a.test/tokens", success: true },
            { url: "http://a.test/missing", success: false },
          ],
          screenshots: [],
          ai_extraction_failed: false,
          stats: {},
        },
      }),
    ]);
    const expected = {
      uuid: ids[0],
      input_tokens: 30,
      output_tokens: 12,
      tokens_used: 42,
      use_proxy: 1,
      proxy_country: null,
      proxy_bandwidth_mb: 3,
      ai_output_format: "json",
    };
    expect((await logs(key)).body.data.logs[0]).toMatchObject(expected);
    const detail = await call<{ data: Log }>(`${stack.api}/scrape-logs/${ids[0]}`, { key });
    expect(detail.body.data).toMatchObject({ ...expected, scraped_sites_count: 1, result_data: { name: "x" } });
  });

  it("finds a log by its prompt, and takes _ and % in searchTerm literally", async () => {
    const { key, ids } = await accountWith(stack, [
      scrape("http://a.test/plain", {
        request: { urls: [{ url: "http://a.test/plain" }], prompt: "List every Widget price" },
      }),
      scrape("http://a.test/a_b"),
      scrape("http://a.test/axb"),
    ]);
    expect((await logs(key, "?searchTerm=widget%20PRICE")).body.data.logs.map((l) => l.uuid)).toEqual([ids[0]]);
    expect((await logs(key, "?searchTerm=a_b")).body.data.logs.map((l) => l.uuid)).toEqual([ids[1]]);
    expect((await logs(key, "?searchTerm=%20axb%20")).body.data.logs.map((l) => l.uuid)).toEqual([ids[2]]);
  });

  it("counts crawls apart from requests, sums CAPTCHAs solved, and averages the latency of completed scrapes only", async () => {
    const { key } = await accountWith(stack, [
      scrape("http://a.test/one", { stats: { durationMs: 100, captchaSolvedCount: 2 } }),
      scrape("http://a.test/two", { stats: { durationMs: 300, captchaSolvedCount: 3 } }),
      scrape("http://a.test/failed", { status: "failed", creditsUsed: 0, stats: { durationMs: 5000 } }),
      { kind: "crawl", status: "completed", request: { baseUrl: "http://a.test/" }, creditsUsed: 4 },
    ]);
    for (const range of ["7d", "30d", "weekly"]) {
      const rows = (await usage(key, range)).body.data;
      expect(rows.at(-1), range).toMatchObject({ requests: 3, crawls: 1, captchas: 5, latency: 200, credits: 8 });
    }
  });

  it("reads a range with spaces around it", async () => {
    const { key } = await accountWith(stack, [scrape("http://a.test/range")]);
    const res = await call<Usage>(`${stack.api}/usage-stats?range=%207d%20`, { key });
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(7);
    expect(res.body.data.at(-1)!.requests).toBe(1);
  });

  it("labels this week's row from Monday to Sunday", async () => {
    const { key } = await accountWith(stack, [scrape("http://a.test/week")]);
    const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    const today = new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
    const monday = new Date(today.getTime() - ((today.getUTCDay() + 6) % 7) * 86_400_000);
    const sunday = new Date(monday.getTime() + 6 * 86_400_000);
    const md = (d: Date) => `${months[d.getUTCMonth()]} ${d.getUTCDate()}`;
    const label =
      monday.getUTCMonth() === sunday.getUTCMonth()
        ? `${md(monday)}-${sunday.getUTCDate()}`
        : `${md(monday)}-${md(sunday)}`;
    const rows = (await usage(key, "weekly")).body.data;
    expect(rows.at(-1)).toMatchObject({ label, date: `${md(monday)} – ${md(sunday)}`, requests: 1 });
    // The week before ends the day before this Monday.
    const before = new Date(monday.getTime() - 86_400_000);
    expect(rows.at(-2)!.date.endsWith(` – ${md(before)}`)).toBe(true);
  });

  it("gives RateLimit-Reset and Retry-After in seconds of the window", async () => {
    const { key } = await stack.createKey(1);
    const url = `${stack.api}/scrape/00000000-0000-0000-0000-000000000000`;
    const first = await call(url, { key });
    expect(first.status).toBe(404);
    expect(first.headers.get("ratelimit-limit")).toBe(String(RATE_MAX));
    expect(first.headers.get("ratelimit-remaining")).toBe(String(RATE_MAX - 1));
    // The first request opens the window: all of it is left.
    expect(first.headers.get("ratelimit-reset")).toBe(String(RATE_WINDOW_S));
    let last = first;
    for (let i = 1; i <= RATE_MAX; i++) last = await call(url, { key });
    expect(last.status).toBe(429);
    for (const name of ["ratelimit-reset", "retry-after"]) {
      const seconds = Number(last.headers.get(name));
      expect(seconds, name).toBeGreaterThanOrEqual(1);
      expect(seconds, name).toBeLessThanOrEqual(RATE_WINDOW_S);
    }
  });
});

describe("crawl webhooks with a worker", () => {
  let site: FixtureSite;
  let stack: TestStack;
  let pages: PageServer;
  beforeAll(async () => {
    ({ site, stack } = await startSiteAndStack());
    pages = await servePages((u) => {
      if (u.pathname === "/") return page("Small", `<h1>Small</h1><p>A short page.</p><a href="/big">big</a>`);
      if (u.pathname === "/big") return page("Big", `<h1>Big</h1>${prose(1500)}`);
      return undefined;
    });
  });
  afterAll(async () => {
    await pages?.close();
    await stack?.stop();
    await site?.close();
  });

  it("binds a file link's signature to its file, and serves files sandboxed", async () => {
    const { key } = await stack.createKey(100);
    const final = await scrapeAndWait(stack.api, key, { urls: [{ url: site.url("/") }], screenshot: true });
    const link = new URL((final.result as { screenshots: string[] }).screenshots[0]!);
    const own = await fetch(`${stack.origin}${link.pathname}${link.search}`);
    expect(own.status).toBe(200);
    expect(own.headers.get("content-security-policy")).toBe("sandbox");
    expect(own.headers.get("x-content-type-options")).toBe("nosniff");
    await own.arrayBuffer();
    // The same expires and signature on another file's path is a tampered link, not a lookup.
    const other = await call(`${stack.origin}/files/screenshots/another/0.png${link.search}`);
    expect(other.status).toBe(403);
  });

  it("tries an event three times before giving it up, each naming its event in X-Spidra-Event", async () => {
    const { key, accountId } = await stack.createKey(100);
    const receiver = await startWebhookReceiver({ failFirst: 2 });
    try {
      const jobId = await startCrawl(stack.api, key, {
        baseUrl: site.url("/site/"),
        maxPages: 1,
        webhookUrl: receiver.url,
      });
      const { final } = await pollCrawl(stack.api, key, jobId);
      expect(final.status).toBe("completed");
      await receiver.delivered("crawl.completed");
      const events = receiver.received.map((h) => h.body.event);
      // Two failed deliveries of crawl.page, the third one taken, then crawl.completed.
      expect(events).toEqual(["crawl.page", "crawl.page", "crawl.page", "crawl.completed"]);
      expect(new Set(receiver.received.slice(0, 3).map((h) => h.raw)).size).toBe(1);
      const secret = await ensureWebhookSecret(stack.db, accountId);
      for (const hook of receiver.received) {
        expect(hook.headers["x-spidra-event"]).toBe(hook.body.event);
        const sig = `sha256=${createHmac("sha256", secret!).update(hook.raw).digest("hex")}`;
        expect(hook.headers["x-spidra-signature"]).toBe(sig);
      }
    } finally {
      await receiver.close();
    }
  });

  it("leaves a page's data out of its crawl.page event past 256 KB, and says so", async () => {
    const { key } = await stack.createKey(100);
    const receiver = await startWebhookReceiver();
    try {
      const jobId = await startCrawl(stack.api, key, {
        baseUrl: `${pages.origin}/`,
        maxPages: 2,
        webhookUrl: receiver.url,
      });
      const { final } = await pollCrawl(stack.api, key, jobId);
      expect(final.status).toBe("completed");
      await receiver.delivered("crawl.completed");
      const byUrl = new Map(
        receiver.received
          .filter((h) => h.body.event === "crawl.page")
          .map((h) => [(h.body.page as { url: string }).url, h.body.page as Record<string, unknown>]),
      );
      const small = byUrl.get(`${pages.origin}/`)!;
      expect(small.data).toEqual(expect.stringContaining("A short page."));
      expect(small).not.toHaveProperty("data_omitted");
      const big = byUrl.get(`${pages.origin}/big`)!;
      expect(big).toMatchObject({ url: `${pages.origin}/big`, status: "success", data: null, data_omitted: true });
      expect(receiver.received.every((h) => h.raw.length < 256 * 1024)).toBe(true);
    } finally {
      await receiver.close();
    }
  });
});

describe("a proxy pool with a proxy of no country", () => {
  let stack: TestStack;
  beforeAll(async () => {
    // Nothing listens on either port: no job runs (no worker), the gateway only reads the pool.
    stack = await startTestStack({
      worker: false,
      env: { PROXY_POOL: "http://127.0.0.1:9, de=http://127.0.0.1:10" },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("serves any location with it, but never a country that no proxy of that country serves", async () => {
    const { key } = await stack.createKey(100);
    const submit = (proxyCountry: string) =>
      call<{ message: string }>(`${stack.api}/scrape`, {
        key,
        body: { urls: [{ url: "http://127.0.0.1:9/x" }], useProxy: true, proxyCountry },
      });
    const fr = await submit("fr");
    expect(fr.status).toBe(400);
    expect(fr.body.message).toContain("fr");
    expect((await submit("de")).status).toBe(202);
    expect((await submit("global")).status).toBe(202);
  });
});
