import { startFixtureSite, type FixtureSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePattern, createScope } from "../../worker/src/crawl/crawl-scope.ts";
import { crawl, pathsOf } from "./helpers/crawl.ts";
import { call } from "./helpers/http.ts";
import { startSiteAndStack, startTestStack, useStarted, type TestStack } from "./helpers/stack.ts";

/**
 * The request side of POST /scrape, /batch/scrape and /crawl, field by field (contract §5.1, §5.3,
 * §7.1, §8.1, §15): what the gateway accepts, refuses, and stores for the worker. No worker runs:
 * jobs stay queued, and what a job would do is read from what was stored with it.
 */

let stack: TestStack;
let site: FixtureSite;
let key: string;

type Envelope = { status: string; message: string; error: string; errors?: string[]; jobId?: string; batchId?: string };

describe("gateway", () => {
  beforeAll(async () => {
    site = await startFixtureSite();
    stack = await startTestStack({
      worker: false,
      env: {
        ALLOW_HOSTS: `127.0.0.1:${site.port}`,
        MAX_PENDING_SCRAPE_JOBS: "1000",
        MAX_PENDING_BATCHES: "1000",
        MAX_PENDING_CRAWLS: "1000",
        // Only the gateway's check reads the pool here (no job runs): port 9 is never connected to.
        PROXY_POOL: "us=http://127.0.0.1:9, de=http://127.0.0.1:9",
      },
    });
    key = (await stack.createKey(100_000)).key;
  });
  afterAll(async () => {
    await stack?.stop();
    await site?.close();
  });

  const post = (path: string, body: unknown) => call<Envelope>(`${stack.api}${path}`, { key, body });

  function expectRefusal(res: { status: number; body: Envelope }, status: number, pattern: RegExp) {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.status).toBe("error");
    expect(res.body.error).toBe(res.body.message);
    expect(res.body.errors?.length).toBeGreaterThan(0);
    expect(`${res.body.message} ${(res.body.errors ?? []).join(" ")}`).toMatch(pattern);
  }

  async function storedScrapeRequest(jobId: string): Promise<Record<string, unknown>> {
    const { rows } = await stack.pool.query<{ request: Record<string, unknown> }>(
      "select request from jobs where id = $1",
      [jobId],
    );
    return rows[0]!.request;
  }

  describe("POST /crawl maxDepth", () => {
    it("takes a maxDepth past a 32-bit integer as unlimited depth, not a 500", async () => {
      for (const maxDepth of [1e12, 3_000_000_000, Number.MAX_SAFE_INTEGER]) {
        const res = await post("/crawl", { baseUrl: site.url("/"), maxDepth });
        expect(res.status, JSON.stringify(res.body)).toBe(202);
        const job = await call<{ max_depth: number | null }>(`${stack.api}/crawl/job/${res.body.jobId}`, { key });
        expect(job.status).toBe(200);
        expect(job.body.max_depth).toBe(2_147_483_647);
      }
      // The ordinary values are stored as sent; a negative or fractional one is still a 400.
      const zero = await post("/crawl", { baseUrl: site.url("/"), maxDepth: 0 });
      expect(zero.status).toBe(202);
      const job = await call<{ max_depth: number | null }>(`${stack.api}/crawl/job/${zero.body.jobId}`, { key });
      expect(job.body.max_depth).toBe(0);
      expectRefusal(await post("/crawl", { baseUrl: site.url("/"), maxDepth: -1 }), 400, /maxDepth/);
      expectRefusal(await post("/crawl", { baseUrl: site.url("/"), maxDepth: 1.5 }), 400, /maxDepth/);
    });
  });

  describe("POST /crawl baseUrl with credentials", () => {
    it("refuses a base URL holding a user name or password with 400, instead of a crawl that fails in the worker", async () => {
      const at = new URL(site.url("/"));
      for (const userinfo of ["user:secret@", "user@", ":secret@"]) {
        const baseUrl = `http://${userinfo}${at.host}/`;
        expectRefusal(await post("/crawl", { baseUrl }), 400, /user name or password/);
      }
      // Nothing was reserved for them.
      const plain = await post("/crawl", { baseUrl: site.url("/") });
      expect(plain.status).toBe(202);
    });
  });

  describe('scrapeMode "fast" with what only a browser can do', () => {
    it("refuses a screenshot, a full-page screenshot or browser actions in fast mode with 400 naming the field", async () => {
      const url = site.url("/");
      expectRefusal(
        await post("/scrape", { urls: [{ url }], scrapeMode: "fast", screenshot: true }),
        400,
        /screenshot/,
      );
      expectRefusal(
        await post("/scrape", { urls: [{ url }], scrapeMode: "fast", fullPageScreenshot: true }),
        400,
        /fullPageScreenshot/,
      );
      const actions = await post("/scrape", {
        urls: [{ url }, { url, actions: [{ type: "wait", duration: 10 }] }],
        scrapeMode: "fast",
      });
      expectRefusal(actions, 400, /urls\[1\]\.actions/);
      expect(actions.body.errors).toHaveLength(1);
      expectRefusal(
        await post("/batch/scrape", { urls: [url], scrapeMode: "fast", screenshot: true }),
        400,
        /screenshot/,
      );
      expectRefusal(
        await post("/batch/scrape", { urls: [url], scrapeMode: "fast", fullPageScreenshot: true }),
        400,
        /fullPageScreenshot/,
      );
    });

    it("still takes fast mode without them (n8n's empty actions, screenshot false) and the browser options in the default mode", async () => {
      const url = site.url("/");
      const fast = await post("/scrape", {
        urls: [{ url, actions: [] }],
        scrapeMode: "fast",
        screenshot: false,
        extractContentOnly: true,
      });
      expect(fast.status, JSON.stringify(fast.body)).toBe(202);
      expect(await storedScrapeRequest(fast.body.jobId!)).toMatchObject({
        scrapeMode: "fast",
        screenshot: false,
        extractContentOnly: true,
      });
      const browser = await post("/scrape", {
        urls: [{ url, actions: [{ type: "wait", duration: 10 }] }],
        fullPageScreenshot: true,
      });
      expect(browser.status, JSON.stringify(browser.body)).toBe(202);
      // D45: fullPageScreenshot implies screenshot.
      expect(await storedScrapeRequest(browser.body.jobId!)).toMatchObject({
        scrapeMode: "default",
        screenshot: true,
        fullPageScreenshot: true,
      });
      const batch = await post("/batch/scrape", { urls: [url], scrapeMode: "fast" });
      expect(batch.status, JSON.stringify(batch.body)).toBe(202);
    });
  });

  describe("null in a URL object of POST /scrape", () => {
    it("reads urls[i].actions, cookies and instruction sent as null as left out, as at the top level", async () => {
      const res = await post("/scrape", {
        urls: [
          { url: site.url("/"), actions: null, cookies: null, instruction: null },
          { url: site.url("/"), actions: null },
        ],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      const stored = await storedScrapeRequest(res.body.jobId!);
      expect(stored.urls).toEqual([
        { url: site.url("/"), actions: [] },
        { url: site.url("/"), actions: [] },
      ]);
      expect(stored.withCookies).toBeUndefined();
      // The URL itself is required: null there is still refused.
      expectRefusal(await post("/scrape", { urls: [{ url: null }] }), 400, /url/);
    });
  });

  describe("proxyCountry spelling", () => {
    it('takes " US " on /scrape and /batch/scrape as on /crawl: trimmed and lower-cased', async () => {
      const scrape = await post("/scrape", { urls: [{ url: site.url("/") }], useProxy: true, proxyCountry: " US " });
      expect(scrape.status, JSON.stringify(scrape.body)).toBe(202);
      expect(await storedScrapeRequest(scrape.body.jobId!)).toMatchObject({ useProxy: true, proxyCountry: "us" });
      const batch = await post("/batch/scrape", { urls: [site.url("/")], useProxy: true, proxyCountry: "DE " });
      expect(batch.status, JSON.stringify(batch.body)).toBe(202);
      const crawl = await post("/crawl", { baseUrl: site.url("/"), useProxy: true, proxyCountry: " US " });
      expect(crawl.status, JSON.stringify(crawl.body)).toBe(202);
      // A country no proxy serves is still refused; without useProxy the country is ignored (§5.1).
      expectRefusal(
        await post("/scrape", { urls: [{ url: site.url("/") }], useProxy: true, proxyCountry: " FR " }),
        400,
        /proxyCountry "fr"/,
      );
      const ignored = await post("/scrape", { urls: [{ url: site.url("/") }], useProxy: false, proxyCountry: "zz" });
      expect(ignored.status).toBe(202);
    });
  });
});

describe("crawl path patterns written as whole URLs", () => {
  let crawlSite: FixtureSite;
  let crawlStack: TestStack;
  let crawlKey: string;
  useStarted(
    () => startSiteAndStack(),
    (started) => ({ site: crawlSite, stack: crawlStack } = started),
  );
  beforeAll(async () => {
    crawlKey = (await crawlStack.createKey(1000)).key;
  });

  it("stores the path of an includePaths/excludePaths entry given as a URL, drops blank ones", async () => {
    const res = await call<Envelope>(`${crawlStack.api}/crawl`, {
      key: crawlKey,
      body: {
        baseUrl: crawlSite.url("/site/"),
        maxDepth: 0,
        includePaths: [crawlSite.url("/site/docs/*"), "  ", "/site/blog/"],
        excludePaths: ["HTTPS://example.com/site/docs/api/*", ""],
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const job = await call<{ include_paths: string[] | null; exclude_paths: string[] | null }>(
      `${crawlStack.api}/crawl/job/${res.body.jobId}`,
      { key: crawlKey },
    );
    expect(job.body.include_paths).toEqual(["/site/docs/*", "/site/blog/"]);
    expect(job.body.exclude_paths).toEqual(["/site/docs/api/*"]);
  });

  it("crawls the pages such a pattern names (as the same pattern written as a path does)", async () => {
    const done = await crawl(crawlStack.api, crawlKey, {
      baseUrl: crawlSite.url("/site/"),
      maxPages: 10,
      includePaths: [crawlSite.url("/site/docs/*")],
      excludePaths: [crawlSite.url("/site/docs/api/*")],
    });
    expect(done.status).toBe("completed");
    expect(pathsOf(done.result!)).toEqual([
      "/site/",
      "/site/docs/",
      "/site/docs/getting-started",
      "/site/docs/install",
      "/site/docs/config",
    ]);
  }, 120_000);
});

describe("includePaths/excludePaths globs", () => {
  it("match in linear time: a pattern of many stars does not backtrack (it held the worker for minutes per link)", () => {
    // Before: a regular expression `^/.*a.*a.*…b$`, exponential in the stars on a path of a's.
    const hostile = `/${"*a".repeat(20)}b`;
    const path = `/${"a".repeat(200)}`;
    expect(compilePattern(hostile)(path)).toBe(false);
    expect(compilePattern(hostile)(`${path}b`)).toBe(true);
    const scope = createScope({
      baseUrl: "http://127.0.0.1:1/",
      allowSubdomains: false,
      crawlEntireDomain: false,
      includePaths: [hostile],
      excludePaths: [hostile.replace(/b$/, "c")],
    });
    expect(scope(new URL(`http://127.0.0.1:1${path}`))).toEqual({ ok: false, reason: "include" });
    expect(scope(new URL(`http://127.0.0.1:1${path}b`))).toEqual({ ok: true });
  });

  it("keep their meaning: * matches anything (/ and nothing included), the rest literally, anchored at both ends", () => {
    const cases: Array<[string, string, boolean]> = [
      ["/blog/*", "/blog/", true],
      ["/blog/*", "/blog", false],
      ["/blog/*", "/blog/2024/post", true],
      ["*.html", "/x/y.html", true],
      ["*.html", "/x/y.html/z", false],
      ["/a.b/*", "/aXb/c", false],
      ["/a*b*c", "/aXXbYYc", true],
      ["/a*b*c", "/aXXbYYcd", false],
      ["/a*b*c*", "/abcabc", true],
      ["/*/x", "/a/b/x", true],
      ["/*/x", "/a/b/y", false],
      ["/**", "/", true],
      ["/(x)+?[y]*", "/(x)+?[y]z", true],
      ["/(x)+?[y]*", "/xxy", false],
      ["/blog/", "/blog/post", true],
      ["blog", "/blogging", true],
    ];
    for (const [pattern, path, expected] of cases)
      expect(compilePattern(pattern)(path), `${pattern} ${path}`).toBe(expected);
  });
});
