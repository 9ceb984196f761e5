import { loadConfig } from "@orbweaver/config";
import {
  CRAWL_APP_PAGES,
  startCrawlDelaySite,
  startFixtureSite,
  type CrawlDelaySite,
  type FixtureSite,
} from "@orbweaver/testkit";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPageLoadPacer } from "../../worker/src/crawl/pace-page-loads.ts";
import { readHtmlLinks } from "../../worker/src/crawl/read-html-links.ts";
import { createRobotsRules } from "../../worker/src/crawl/robots-rules.ts";
import { crawl, pathsOf, pollCrawl, startCrawl, type CrawlBody } from "./helpers/crawl.ts";
import { countingContexts, startTestStack, type TestStack } from "./helpers/stack.ts";
import { testEnv } from "./helpers/test-env.ts";

let site: FixtureSite;
let polite: CrawlDelaySite;
let stack: TestStack;
let key: string;

beforeAll(async () => {
  site = await startFixtureSite();
  polite = await startCrawlDelaySite({ delaySeconds: 1 });
  stack = await startTestStack();
  ({ key } = await stack.createKey(1000));
});
afterAll(async () => {
  await stack?.stop();
  await polite?.close();
  await site?.close();
});

const summary = (body: CrawlBody) =>
  body.result!.map((p) => ({ url: p.url, title: p.title, status: p.status, error: p.error_message, data: p.data }));

describe('scrapeMode "fast" for crawls', () => {
  it("crawls the fixture site over HTTP without Chromium, to the same pages, titles, content and links as the default mode", async () => {
    const body = { baseUrl: site.url("/site/"), maxPages: 50 };
    const normal = await countingContexts(stack, () => crawl(stack.api, key, body));
    const fast = await countingContexts(stack, () => crawl(stack.api, key, { ...body, scrapeMode: "fast" }));
    // The default mode loads some pages in the browser (the 404 page: an error over HTTP may pass in a browser).
    expect(normal.contexts).toBeGreaterThan(0);
    expect(fast.contexts).toBe(0);
    expect(fast.value.result!.length).toBeGreaterThan(20);
    // Same pages in the same breadth-first order means the same links were found on every page.
    expect(pathsOf(fast.value.result!)).toEqual(pathsOf(normal.value.result!));
    expect(summary(fast.value)).toEqual(summary(normal.value));
    const broken = fast.value.result!.find((p) => p.url.endsWith("/site/docs/api/v1"))!;
    expect(broken).toMatchObject({ status: "failed", error_message: "The page answered HTTP 404" });
  });

  it("gives script-rendered pages their rendered content and links in the default mode, and fails them honestly in fast mode", async () => {
    const rendered = await countingContexts(stack, () =>
      crawl(stack.api, key, { baseUrl: site.url("/site-app/"), maxPages: 10 }),
    );
    expect(rendered.contexts).toBe(CRAWL_APP_PAGES.length);
    // The links exist only once the script ran: following them proves the browser rendered the page.
    expect(pathsOf(rendered.value.result!)).toEqual(["/site-app/", "/site-app/reports", "/site-app/settings"]);
    for (const [path, heading, text] of CRAWL_APP_PAGES) {
      const page = rendered.value.result!.find((p) => new URL(p.url).pathname === `/site-app${path}`)!;
      expect(page.status).toBe("success");
      expect(page.data).toEqual(expect.stringContaining(heading));
      expect(page.data).toEqual(expect.stringContaining(text));
    }

    const jobId = await startCrawl(stack.api, key, { baseUrl: site.url("/site-app/"), scrapeMode: "fast" });
    const { final } = await pollCrawl(stack.api, key, jobId);
    expect(final.status).toBe("failed");
    expect(final.error).toMatch(/rendered by scripts/);
  });
});

describe("robots.txt Crawl-delay", () => {
  it("starts the page loads of a crawl at least Crawl-delay apart (2 lanes notwithstanding)", async () => {
    const from = polite.requests.length;
    const done = await crawl(stack.api, key, { baseUrl: polite.url("/site/"), maxPages: 4 });
    expect(done.result).toHaveLength(4);
    const pages = new Set(pathsOf(done.result!));
    // First request of each page (static pages load over HTTP once).
    const firsts = new Map<string, number>();
    for (const r of polite.requests.slice(from)) if (pages.has(r.path) && !firsts.has(r.path)) firsts.set(r.path, r.at);
    expect(firsts.size).toBe(4);
    const times = [...firsts.values()].sort((a, b) => a - b);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // Lower bounds only: each load starts ≥ 1000 ms after the previous one started; the arrival
    // times seen by the site may differ from the start times by the request's own latency.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(800);
    expect(times[3]! - times[0]!).toBeGreaterThanOrEqual(2800);
  });

  it("reads Crawl-delay for our agent, caps it with CRAWL_MAX_DELAY_MS and ignores it when robots.txt is ignored", async () => {
    const policy = loadConfig(testEnv()).network;
    const log = pino({ level: "silent" });
    const rules = (respect: boolean, maxDelayMs: number) => createRobotsRules({ policy, respect, maxDelayMs, log });
    expect(await rules(true, 10_000).crawlDelayMs(polite.origin)).toBe(1000);
    expect(await rules(true, 250).crawlDelayMs(polite.origin)).toBe(250);
    expect(await rules(true, 0).crawlDelayMs(polite.origin)).toBe(0);
    expect(await rules(false, 10_000).crawlDelayMs(polite.origin)).toBe(0);
    // The shared fixture site has no Crawl-delay.
    expect(await rules(true, 10_000).crawlDelayMs(site.origin)).toBe(0);

    // The pacer: loads of one origin start at least the delay apart, other origins do not wait.
    const pace = createPageLoadPacer({ crawlDelayMs: async (origin) => (origin === "http://a.test" ? 150 : 0) });
    const starts: number[] = [];
    await Promise.all(
      [1, 2, 3].map(async (n) => {
        await pace(new URL(`http://a.test/${n}`));
        starts.push(Date.now());
      }),
    );
    starts.sort((a, b) => a - b);
    // The pacer admits loads at least 150 ms apart by its own clock; this reads the clock when each
    // caller resumes, a millisecond or more after its admission under load (a CI run once read 149).
    // Unpaced loads would start ~0 ms apart.
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(145);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(145);
    expect(starts[2]! - starts[0]!).toBeGreaterThanOrEqual(295);
    const before = Date.now();
    await pace(new URL("http://b.test/"));
    await pace(new URL("http://b.test/"));
    expect(Date.now() - before).toBeLessThan(150);
  });
});

describe("links read without a browser", () => {
  it("resolves against <base>, reads anchor text or labels, keeps document order and skips noscript/template", () => {
    const html = `<html><head><base href="/docs/"></head><body>
      <a href="intro">Intro &amp; <b>setup</b></a>
      <noscript><a href="/hidden">Hidden</a></noscript>
      <template><a href="/tpl">Template</a></template>
      <a href=" ../about#team " aria-label="About us"><img src="x.png"></a>
      <map><area href="/map" title="Map area"></map>
      <a href="javascript:void(0)">Menu</a>
      <a name="anchor-without-href">No link</a>
      <a href="http://[bad">Bad</a>
    </body></html>`;
    expect(readHtmlLinks(html, "https://example.com/start/page")).toEqual([
      { url: "https://example.com/docs/intro", text: "Intro & setup" },
      { url: "https://example.com/about#team", text: "About us" },
      { url: "https://example.com/map", text: "Map area" },
      { url: "javascript:void(0)", text: "Menu" },
    ]);
  });
});
