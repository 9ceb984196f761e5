import { startFixtureSite, type FixtureSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ledgerGap } from "./helpers/batch.ts";
import {
  crawl,
  expectLinkFields,
  onOrigin,
  pathsOf,
  pollCrawl,
  readZip,
  startCrawl,
  type CrawlBody,
  type CrawlPage,
} from "./helpers/crawl.ts";
import { call } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let stack: TestStack;
let key: string;
let accountId: string;
/** One completed default crawl shared by the read-only endpoint tests. */
let done: CrawlBody;

const OPENING = 200;

beforeAll(async () => {
  site = await startFixtureSite();
  stack = await startTestStack();
  ({ key, accountId } = await stack.createKey(OPENING));
  done = await crawl(stack.api, key, { baseUrl: site.url("/site/") });
});
afterAll(async () => {
  await stack?.stop();
  await site?.close();
});

/** Signed links name PUBLIC_URL; the test stack listens on another port. */
const local = (link: string) => onOrigin(stack.origin, link);

describe("POST /crawl and GET /crawl/:id", () => {
  it("crawls with only baseUrl: 5 pages in breadth-first order, Markdown data, no model", async () => {
    expect(done.jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(done.error).toBeNull();
    expect(done.progress).toMatchObject({ status: "completed", progress: 1, pagesCrawled: 5, maxPages: 5 });
    expect(typeof done.progress?.message).toBe("string");
    // Home, then its links in page order; the sitemap's URLs come after them.
    expect(pathsOf(done.result!)).toEqual(["/site/", "/site/about", "/site/docs/", "/site/blog/", "/site/products"]);
    for (const page of done.result!) {
      expect(page.status).toBe("success");
      expect(typeof page.data).toBe("string");
      expectLinkFields(page);
      expect(page.html).toBe(page.html_url);
      expect(page.markdown).toBe(page.markdown_url);
      expect(page.htmlKey).toBe(`crawl/${done.jobId}/${page.id}.html`);
      expect(page.markdownKey).toBe(`crawl/${done.jobId}/${page.id}.md`);
    }
    expect(done.result![0]!.title).toBe("Acme Docs - Home");
    expect(done.result![0]!.data).toContain("# Acme Docs - Home");
  });

  it("reports waiting or active/running before completing, with the union progress object", async () => {
    const jobId = await startCrawl(stack.api, key, { baseUrl: site.url("/site-slow/"), maxPages: 2 });
    const first = await call<CrawlBody>(`${stack.api}/crawl/${jobId}`, { key });
    expect(first.status).toBe(200);
    expect(["waiting", "active", "running"]).toContain(first.body.status);
    expect(first.body).toMatchObject({ result: null, error: null, jobId });
    expect(Object.keys(first.body.progress!).sort()).toEqual([
      "maxPages",
      "message",
      "pagesCrawled",
      "progress",
      "status",
    ]);
    const { final, seen } = await pollCrawl(stack.api, key, jobId);
    expect(final.status).toBe("completed");
    expect(seen).toContain("running");
    expect(final.result).toHaveLength(2);
  });

  it("treats empty strings as absent and 0 maxPages as unset (the Go and n8n clients send them)", async () => {
    const jobId = await startCrawl(stack.api, key, {
      baseUrl: site.url("/site/docs/"),
      crawlInstruction: "",
      transformInstruction: "",
      maxPages: 0,
      cookies: "",
      proxyCountry: "",
      webhookUrl: "",
      useProxy: false,
      scrapeMode: "fast",
      unknownField: true,
    });
    const { final } = await pollCrawl(stack.api, key, jobId);
    expect(final.status).toBe("completed");
    expect(final.result).toHaveLength(5);
    expect(pathsOf(final.result!).every((p) => p.startsWith("/site/docs"))).toBe(true);
  });

  it("treats null as absent for every optional field (clients that serialise unset options as null)", async () => {
    // Its own account: the usage and history counts below are this file's shared account's.
    const own = await stack.createKey(50);
    const optional = [
      "crawlInstruction",
      "transformInstruction",
      "schema",
      "maxPages",
      "maxDepth",
      "includePaths",
      "excludePaths",
      "allowSubdomains",
      "crawlEntireDomain",
      "ignoreQueryParams",
      "webhookUrl",
      "useProxy",
      "proxyCountry",
      "cookies",
      "scrapeMode",
    ];
    const body = { baseUrl: site.url("/site/"), ...Object.fromEntries(optional.map((k) => [k, null])) };
    const jobId = await startCrawl(stack.api, own.key, body);
    const { final } = await pollCrawl(stack.api, own.key, jobId);
    expect(final.status, JSON.stringify(final)).toBe("completed");
    // maxDepth unlimited and maxPages the default: the same five pages as with only baseUrl.
    expect(pathsOf(final.result!)).toEqual(pathsOf(done.result!));
    const record = await call<Record<string, unknown>>(`${stack.api}/crawl/job/${jobId}`, { key: own.key });
    expect(record.body).toMatchObject({
      crawl_instruction: "Find all pages on the website",
      transform_instruction: null,
      output_schema: null,
      max_pages: 5,
      max_depth: null,
      include_paths: null,
      exclude_paths: null,
      webhook_url: null,
      use_proxy: 0,
    });
    const history = await call<{ jobs: Array<Record<string, unknown>> }>(`${stack.api}/crawl/history`, {
      key: own.key,
    });
    expect(history.body.jobs.find((j) => j.id === jobId)).toMatchObject({
      max_depth: null,
      include_paths: null,
      exclude_paths: null,
    });
    // The one required field stays required.
    const noBase = await call<Record<string, unknown>>(`${stack.api}/crawl`, {
      key: own.key,
      body: { ...body, baseUrl: null },
    });
    expect(noBase.status).toBe(400);
    expect(noBase.body.error).toBe(noBase.body.message);
  });

  it("refuses bad input with the error envelope: 400, 422, 403", async () => {
    const post = (body: unknown, k = key) => call<Record<string, unknown>>(`${stack.api}/crawl`, { key: k, body });
    const cases: Array<[unknown, number]> = [
      [{}, 400],
      [{ baseUrl: "ftp://example.com/" }, 400],
      [{ baseUrl: "not a url" }, 400],
      [{ baseUrl: site.url("/site/"), maxPages: 51 }, 400],
      [{ baseUrl: site.url("/site/"), maxPages: -1 }, 400],
      [{ baseUrl: site.url("/site/"), maxDepth: -1 }, 400],
      [{ baseUrl: site.url("/site/"), transformInstruction: "x".repeat(5001) }, 400],
      [{ baseUrl: site.url("/site/"), webhookUrl: "gopher://example.com" }, 400],
      [{ baseUrl: site.url("/site/"), schema: { type: "array", items: { type: "string" } } }, 422],
      [{ baseUrl: site.url("/site/"), schema: { type: "object", properties: { a: { type: "nonsense" } } } }, 422],
    ];
    for (const [body, status] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.status).toBe("error");
      expect(res.body.error).toBe(res.body.message);
    }
    expect((await post({ baseUrl: site.url("/site/"), maxPages: 51 })).body.message).toContain("at most 50");
    const poor = await stack.createKey(9);
    const broke = await post({ baseUrl: site.url("/site/"), maxPages: 5 }, poor.key);
    expect(broke.status).toBe(403);
    expect(await ledgerGap(stack.pool, poor.accountId, 9)).toBe(0);
  });
});

describe("pages, files and download", () => {
  it("lists pages with ids, statuses, link fields and created_at", async () => {
    const res = await call<{ pages: CrawlPage[] }>(`${stack.api}/crawl/${done.jobId}/pages`, { key });
    expect(res.status).toBe(200);
    expect(res.body.pages.map((p) => p.id)).toEqual(done.result!.map((p) => p.id));
    for (const page of res.body.pages) {
      expect(page.status).toBe("success");
      expect(page.error_message).toBeNull();
      expect(Number.isNaN(Date.parse(page.created_at!))).toBe(false);
      expectLinkFields(page);
    }
  });

  it("lists only finished pages while a crawl runs, so a watcher emitting each page once gets them all with data", async () => {
    // Its own account: the usage and history counts below are this file's shared account's.
    const own = await stack.createKey(50);
    const jobId = await startCrawl(stack.api, own.key, { baseUrl: site.url("/site-slow/"), maxPages: 6 });
    // The JS SDK's watcher: poll the status; whenever pagesCrawled changes, fetch /pages and emit
    // each page the first time it is seen (keyed on id ?? url), never again.
    const emitted = new Map<string, CrawlPage>();
    const listedWhileRunning: CrawlPage[] = [];
    let lastCrawled = -1;
    let final: CrawlBody | undefined;
    const deadline = Date.now() + 60_000;
    while (!final) {
      expect(Date.now(), "crawl to finish").toBeLessThan(deadline);
      const polled = await call<CrawlBody>(`${stack.api}/crawl/${jobId}`, { key: own.key });
      expect(polled.status).toBe(200);
      const crawled = polled.body.progress?.pagesCrawled ?? 0;
      if (crawled !== lastCrawled) {
        lastCrawled = crawled;
        const listed = await call<{ pages: CrawlPage[] }>(`${stack.api}/crawl/${jobId}/pages`, { key: own.key });
        expect(listed.status).toBe(200);
        for (const page of listed.body.pages) {
          if (polled.body.status !== "completed") listedWhileRunning.push(page);
          if (!emitted.has(page.id ?? page.url)) emitted.set(page.id ?? page.url, page);
        }
      }
      if (["completed", "failed", "cancelled"].includes(polled.body.status)) final = polled.body;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(final.status).toBe("completed");
    expect(listedWhileRunning.length).toBeGreaterThan(0);
    for (const page of listedWhileRunning) expect(["success", "failed"], page.url).toContain(page.status);
    expect([...emitted.values()].map((p) => p.id).sort()).toEqual(final.result!.map((p) => p.id).sort());
    for (const page of emitted.values()) {
      expect(page.status, page.url).toBe("success");
      expect(typeof page.data, page.url).toBe("string");
    }
  });

  it("serves the stored HTML and Markdown behind signed links; tampered or expired links are 403", async () => {
    const page = done.result![0]!;
    const html = await fetch(local(page.html_url!));
    expect(html.status).toBe(200);
    expect(html.headers.get("content-type")).toContain("text/html");
    // A crawled page's own scripts must not run on the API's origin when the link is opened.
    expect(html.headers.get("content-security-policy")).toBe("sandbox");
    expect(html.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await html.text()).toContain("<title>Acme Docs - Home</title>");
    const md = await fetch(local(page.markdown_url!));
    expect(md.headers.get("content-type")).toContain("text/markdown");
    expect(await md.text()).toBe(page.data);
    const link = new URL(local(page.html_url!));
    const sig = link.searchParams.get("signature")!;
    link.searchParams.set("signature", `${sig.slice(0, -2)}${sig.endsWith("AA") ? "BB" : "AA"}`);
    expect((await fetch(link)).status).toBe(403);
    const other = new URL(local(page.html_url!));
    other.pathname = other.pathname.replace(page.id, done.result![1]!.id);
    expect((await fetch(other)).status).toBe(403);
    const later = new URL(local(page.html_url!));
    later.searchParams.set("expires", String(Number(later.searchParams.get("expires")) + 10));
    expect((await fetch(later)).status).toBe(403);
  });

  it("streams a ZIP with index.json and one folder per page", async () => {
    const res = await fetch(`${stack.api}/crawl/${done.jobId}/download`, { headers: { "x-api-key": key } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    expect(res.headers.get("content-disposition")).toContain(`crawl-${done.jobId}.zip`);
    const files = readZip(Buffer.from(await res.arrayBuffer()));
    const index = JSON.parse(files.get("index.json")!.toString()) as {
      jobId: string;
      pages: Array<{ folder: string; url: string; title: string; status: string; files: string[] }>;
    };
    expect(index.jobId).toBe(done.jobId);
    expect(index.pages.map((p) => p.folder)).toEqual([
      "001-site",
      "002-site-about",
      "003-site-docs",
      "004-site-blog",
      "005-site-products",
    ]);
    expect(index.pages[0]).toMatchObject({ url: done.result![0]!.url, title: "Acme Docs - Home", status: "success" });
    expect(files.get("001-site/page.html")!.toString()).toContain("<title>Acme Docs - Home</title>");
    expect(files.get("001-site/page.md")!.toString()).toBe(done.result![0]!.data);
    expect(JSON.parse(files.get("002-site-about/data.json")!.toString())).toBe(done.result![1]!.data);
    expect(files.size).toBe(1 + 5 * 3);

    const mdOnly = await fetch(`${stack.api}/crawl/${done.jobId}/download?include=markdown`, {
      headers: { "x-api-key": key },
    });
    const mdFiles = [...readZip(Buffer.from(await mdOnly.arrayBuffer())).keys()];
    expect(mdFiles.filter((f) => f !== "index.json").every((f) => f.endsWith("/page.md"))).toBe(true);
    expect(mdFiles).toHaveLength(6);
    const bad = await call(`${stack.api}/crawl/${done.jobId}/download?include=pdf`, { key });
    expect(bad.status).toBe(400);
  });
});

describe("job details, history and stats", () => {
  it("answers the flat job record", async () => {
    const res = await call<Record<string, unknown>>(`${stack.api}/crawl/job/${done.jobId}`, { key });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: done.jobId,
      base_url: site.url("/site/"),
      crawl_instruction: "Find all pages on the website",
      transform_instruction: null,
      output_schema: null,
      max_pages: 5,
      max_depth: null,
      include_paths: null,
      exclude_paths: null,
      allow_subdomains: 0,
      crawl_entire_domain: 0,
      ignore_query_params: 0,
      webhook_url: null,
      status: "completed",
      input_tokens: 0,
      output_tokens: 0,
      credits_used: 10,
      pages_crawled: 5,
      source_job_id: null,
    });
  });

  it("lists history newest first with id and uuid, integer pages_crawled, 0/1 flags, clamped paging", async () => {
    const res = await call<{ jobs: Array<Record<string, unknown>>; total: number; page: number; totalPages: number }>(
      `${stack.api}/crawl/history?page=0&limit=0`,
      { key },
    );
    expect(res.status).toBe(200);
    expect(res.body.page).toBe(1);
    expect(res.body.jobs.length).toBeLessThanOrEqual(10);
    expect(res.body.total).toBe(3);
    expect(res.body.totalPages).toBe(Math.ceil(res.body.total / 10));
    const mine = res.body.jobs.find((j) => j.id === done.jobId)!;
    expect(mine.uuid).toBe(mine.id);
    expect(mine).toMatchObject({ user_uuid: accountId, pages_crawled: 5, use_proxy: 0, proxy_billing: "none" });
    expect(Number.isInteger(mine.pages_crawled)).toBe(true);
    const times = res.body.jobs.map((j) => Date.parse(j.created_at as string));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const paged = await call<{ jobs: unknown[]; page: number }>(`${stack.api}/crawl/history?page=2&limit=2`, { key });
    expect(paged.body).toMatchObject({ page: 2 });
    expect(paged.body.jobs).toHaveLength(1);
    const capped = await call<{ jobs: unknown[] }>(`${stack.api}/crawl/history?limit=1000`, { key });
    expect(capped.status).toBe(200);
  });

  it("counts crawls in /crawl/stats, and routes history/stats/job before /:id", async () => {
    const docs = await call<{ paths: Record<string, unknown> }>(`${stack.origin}/docs/json`);
    expect(Object.keys(docs.body.paths)).toEqual(
      expect.arrayContaining(["/api/crawl", "/api/crawl/history", "/api/crawl/{jobId}/retry/{pageId}"]),
    );
    const stats = await call<{ total: number }>(`${stack.api}/crawl/stats`, { key });
    expect(stats.status).toBe(200);
    expect(Number.isInteger(stats.body.total)).toBe(true);
    const history = await call<{ total: number }>(`${stack.api}/crawl/history`, { key });
    expect(stats.body.total).toBe(history.body.total);
  });

  it("answers 404 for unknown, malformed and foreign ids on every endpoint", async () => {
    const other = await stack.createKey(10);
    const missing = "00000000-0000-4000-8000-000000000000";
    const page = done.result![0]!.id;
    const paths = (id: string): Array<[string, string]> => [
      ["GET", `/crawl/${id}`],
      ["GET", `/crawl/${id}/pages`],
      ["GET", `/crawl/${id}/download`],
      ["GET", `/crawl/job/${id}`],
      ["DELETE", `/crawl/${id}`],
      ["POST", `/crawl/${id}/retry/${page}`],
      ["POST", `/crawl/${id}/extract`],
    ];
    for (const [k, id] of [
      [key, missing],
      [key, "not-a-uuid"],
      [other.key, done.jobId],
    ] as const) {
      for (const [method, path] of paths(id)) {
        const res = await call<Record<string, unknown>>(`${stack.api}${path}`, {
          key: k,
          method,
          ...(path.endsWith("/extract") ? { body: { transformInstruction: "x" } } : {}),
        });
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.body.error).toBe(res.body.message);
      }
    }
    const badPage = await call(`${stack.api}/crawl/${done.jobId}/retry/not-a-uuid`, { key, method: "POST" });
    expect(badPage.status).toBe(404);
  });

  it("keeps the credit ledger balanced: 2 credits per page crawled, the rest refunded", async () => {
    const ledger = await stack.pool.query(
      "select reason, delta::float from credit_ledger where job_id = $1 order by id",
      [done.jobId],
    );
    expect(ledger.rows).toEqual([{ reason: "reserve", delta: -10 }]);
    expect(await ledgerGap(stack.pool, accountId, OPENING)).toBe(0);
  });

  it("counts crawls in usage statistics, and keeps them out of the scrape logs", async () => {
    const usage = await call<{ data: Array<{ crawls: number; requests: number; credits: number }> }>(
      `${stack.api}/usage-stats?range=7d`,
      { key },
    );
    // This file's account ran three crawls: the shared one, the slow one and the Go-style one.
    expect(usage.body.data.at(-1)).toMatchObject({ crawls: 3, requests: 0, credits: 10 + 4 + 10 });
    const logs = await call<{ data: { total: number } }>(`${stack.api}/scrape-logs`, { key });
    expect(logs.body.data.total).toBe(0);
  });
});
