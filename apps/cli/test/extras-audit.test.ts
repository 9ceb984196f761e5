// Cookies, screenshots and proxies as a user meets them on real sites, with an eye on security
// (the audit in /work/notes/audit-extras.md). Two fixture sites on different loopback addresses
// (127.0.0.1 and 127.0.0.2) are two sites: cookies are not port-specific, addresses are.
import { auditRecords, getFreePort, startFixtureSite, type FixtureSite } from "@orbweaver/testkit";
import { Server as ProxyServer } from "proxy-chain";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodePng } from "./helpers/decode-png.ts";
import { call, scrapeAndWait, type PollBody } from "./helpers/http.ts";
import { startSpawnedStack, type SpawnedStack } from "./helpers/stack.ts";

const PROXY_PASSWORD = `pw-${Date.now()}-q8`;

let a: FixtureSite;
let b: FixtureSite;
let upstream: ProxyServer;
let upstreamHits = 0;
let started: SpawnedStack;
let api: string;
let key: string;

beforeAll(async () => {
  a = await startFixtureSite({ host: "127.0.0.1" });
  b = await startFixtureSite({ host: "127.0.0.2" });
  const good = await getFreePort();
  upstream = new ProxyServer({
    port: good,
    host: "127.0.0.1",
    prepareRequestFunction: ({ username, password }) => {
      upstreamHits += 1;
      return { requestAuthentication: username !== "user" || password !== PROXY_PASSWORD };
    },
  });
  await upstream.listen();
  // A port nothing listens on: a dead proxy.
  const dead = await getFreePort();
  const dead2 = await getFreePort();
  started = await startSpawnedStack({
    LOG_LEVEL: "debug",
    PROXY_POOL: [
      `us=http://user:${PROXY_PASSWORD}@127.0.0.1:${good}`,
      `de=http://user:${PROXY_PASSWORD}@127.0.0.1:${dead}`,
      `fr=http://user:wrong-${PROXY_PASSWORD}@127.0.0.1:${good}`,
      `nl=http://user:${PROXY_PASSWORD}@127.0.0.1:${dead2}`,
      `nl=http://user:${PROXY_PASSWORD}@127.0.0.1:${good}`,
    ].join(", "),
  });
  api = started.api;
  key = (await started.stack.createKey(1000)).key;
}, 90_000);
afterAll(async () => {
  await started?.stop();
  await upstream?.close(true);
  await a?.close();
  await b?.close();
});

const scrape = (body: Record<string, unknown>): Promise<PollBody> => scrapeAndWait(api, key, body, 60_000);
const seen = (from: string) => auditRecords().filter((r) => r.from === from);
/** Makes the browser path run (an action), where the fast path would take a static page. */
const inBrowser = [{ type: "wait", duration: 10 }];

describe("cookies stay with the site they were given for", () => {
  it("never reach another site's image, iframe or fetch embedded in the page", async () => {
    const secret = `emb-${Date.now()}-k1`;
    const done = await scrape({
      urls: [
        {
          url: a.url(`/audit/embed?other=${encodeURIComponent(b.origin)}`),
          actions: inBrowser,
          cookies: [{ name: "per", value: secret }],
        },
      ],
      cookies: `sid=${secret}`,
    });
    expect(done.status).toBe("completed");
    expect(seen("same-img").at(-1)?.cookie).toBe(`sid=${secret}; per=${secret}`);
    for (const from of ["xs-img", "xs-frame", "xs-fetch"]) {
      expect(seen(from).length, from).toBeGreaterThan(0);
      for (const r of seen(from)) expect(r.cookie, from).not.toContain(secret);
    }
  });

  it("never follow a redirect to another site, on the HTTP path or in the browser", async () => {
    const secret = `redir-${Date.now()}-k2`;
    for (const [from, extra] of [
      ["redirect-http", {}],
      ["redirect-fast", { scrapeMode: "fast" }],
    ] as const) {
      const to = b.url(`/audit/record?from=${from}`);
      const done = await scrape({
        urls: [{ url: a.url(`/redirect?to=${encodeURIComponent(to)}`) }],
        cookies: `sid=${secret}`,
        ...extra,
      });
      expect(done.status, from).toBe("completed");
      expect(seen(from).length, from).toBeGreaterThan(0);
      for (const r of seen(from)) expect(r.cookie, from).toBe("");
    }
    const to = b.url("/audit/record?from=redirect-browser");
    const done = await scrape({
      urls: [{ url: a.url(`/redirect?to=${encodeURIComponent(to)}`), actions: inBrowser }],
      cookies: `sid=${secret}`,
    });
    expect(done.status).toBe("completed");
    expect(seen("redirect-browser").length).toBeGreaterThan(0);
    for (const r of seen("redirect-browser")) expect(r.cookie).toBe("");
  });

  it("a cookie a page sets during one job is not in the next job's jar", async () => {
    const mark = `set-${Date.now()}`;
    const first = await scrape({ urls: [{ url: a.url(`/cookies?set=leak=${mark}`), actions: inBrowser }] });
    expect(first.status).toBe("completed");
    const second = await scrape({ urls: [{ url: a.url("/cookies"), actions: inBrowser }] });
    expect(second.status).toBe("completed");
    expect(String(second.result!.content)).toContain("0 cookies");
    expect(String(second.result!.content)).not.toContain(mark);
  });

  it("are in no log line, job row or result, also when the job fails", async () => {
    const secret = `fail-${Date.now()}-k3`;
    const failed = await scrape({
      urls: [
        { url: a.url("/status/500"), cookies: [{ name: "per", value: secret }] },
        { url: a.url("/hang"), actions: inBrowser },
      ],
      cookies: `sid=${secret}`,
    });
    expect(failed.status).toBe("failed");
    const withProxy = await scrape({
      urls: [{ url: a.url("/cookies?hash=1") }],
      cookies: `sid=${secret}`,
      useProxy: true,
      proxyCountry: "de",
    });
    expect(withProxy.status).toBe("failed");
    const bad = await call(`${api}/scrape`, {
      key,
      body: { urls: [{ url: a.url("/") }], cookies: `sid=${secret}; HttpOnly` },
    });
    expect(bad.status).toBe(400);
    const rows = await started.stack.pool.query("select string_agg(j::text, '') as all_rows from jobs j");
    expect(rows.rows[0].all_rows).not.toContain(secret);
    expect(JSON.stringify([failed, withProxy])).not.toContain(secret);
    const logs = started.process.output();
    expect(logs.length).toBeGreaterThan(1000);
    expect(logs).not.toContain(secret);
  });
});

describe("screenshots", () => {
  const png = async (link: string) => {
    const res = await fetch(link);
    const bytes = Buffer.from(await res.arrayBuffer());
    return { status: res.status, width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  };

  /** The worker's log lines (JSON) of one job. */
  const jobLines = (jobId: string) =>
    started.process
      .output()
      .split("\n")
      .filter((l) => l.includes(jobId))
      .map((l) => {
        try {
          return JSON.parse(l) as { msg?: string; url?: string; pageHeight?: number };
        } catch {
          return {};
        }
      });

  it("takes a long page with a fixed header whole, and an error page as it looked", async () => {
    const tall = await scrape({ urls: [{ url: a.url("/audit/tall?px=15000") }], fullPageScreenshot: true });
    expect(tall.status).toBe("completed");
    expect(await png(tall.result!.screenshots[0]!)).toMatchObject({ status: 200, width: 1280 });
    expect((await png(tall.result!.screenshots[0]!)).height).toBeGreaterThan(15_000);
    expect(jobLines(tall.jobId).some((l) => l.msg?.includes("clipped"))).toBe(false);
    const mixed = await scrape({ urls: [{ url: a.url("/status/404") }, { url: a.url("/news") }], screenshot: true });
    expect(mixed.status).toBe("completed");
    expect(mixed.result!.data[0]).toMatchObject({ success: false, error: "The page answered HTTP 404" });
    expect(mixed.result!.data[0]!.screenshotUrl).toBe(mixed.result!.screenshots[0]);
    expect(await png(mixed.result!.data[0]!.screenshotUrl!)).toMatchObject({ status: 200, width: 1280, height: 800 });
  });

  it("clips a very tall page's full-page screenshot to its top 16384 px, and says so in the job's log", async () => {
    const url = a.url("/audit/tall?px=200000");
    const done = await scrape({ urls: [{ url }], fullPageScreenshot: true });
    expect(done.status).toBe("completed");
    expect(done.result!.data[0]).toMatchObject({ success: true });
    expect(done.result!.data[0]!.screenshotUrl).toEqual(expect.any(String));
    expect(await png(done.result!.data[0]!.screenshotUrl!)).toMatchObject({ status: 200, width: 1280, height: 16_384 });
    const clipped = jobLines(done.jobId).find((l) => l.msg?.includes("full-page screenshot clipped"));
    expect(clipped, started.process.output().slice(-3000)).toMatchObject({ url });
    expect(clipped!.pageHeight).toBeGreaterThan(200_000);
    expect(clipped!.msg).toContain("top 16384 px");
  });

  it("scrolls through the page before a full-page screenshot, so lazy images show; a viewport one does not", async () => {
    const seenFor = (tag: string) => [seen(`lazy-${tag}`).length, seen(`lazy-io-${tag}`).length];
    const viewTag = `v${Date.now()}`;
    const view = await scrape({ urls: [{ url: a.url(`/audit/lazy-red?tag=${viewTag}`) }], screenshot: true });
    expect(view.status).toBe("completed");
    expect(seenFor(viewTag)).toEqual([0, 0]);

    const fullTag = `f${Date.now()}`;
    const full = await scrape({ urls: [{ url: a.url(`/audit/lazy-red?tag=${fullTag}`) }], fullPageScreenshot: true });
    expect(full.status).toBe("completed");
    expect(seenFor(fullTag)).toEqual([1, 1]);
    // The result is the page as it was read before the scroll, as without a full-page screenshot.
    expect(full.result!.data[0]!.markdownContent).toBe(
      view.result!.data[0]!.markdownContent.replaceAll(viewTag, fullTag),
    );
    const shot = decodePng(Buffer.from(await (await fetch(full.result!.screenshots[0]!)).arrayBuffer()));
    expect(shot.width).toBe(1280);
    expect(shot.height).toBeGreaterThanOrEqual(7000);
    const red = [255, 0, 0, 255];
    expect(shot.pixel(100, 4100), "lazy image").toEqual(red);
    expect(shot.pixel(100, 6100), "IntersectionObserver image").toEqual(red);
    // Back at the top before the capture: the fixed header (blue) is at the top, and only there.
    expect(shot.pixel(640, 30)).toEqual([0, 0, 204, 255]);
    for (const y of [900, 4100 - 150, 6100 - 150]) expect(shot.pixel(640, y), `y=${y}`).not.toEqual([0, 0, 204, 255]);
  });
});

describe("proxies", () => {
  it("a dead proxy or one refusing its credentials fails the URL at once, saying so", async () => {
    for (const [country, extra, why] of [
      ["de", {}, "the connection was refused"],
      ["de", { urls: [{ url: a.url("/static-article"), actions: inBrowser }] }, "the connection was refused"],
      ["de", { scrapeMode: "fast" }, "the connection was refused"],
      ["fr", {}, "the upstream proxy refused its credentials"],
    ] as const) {
      const t = Date.now();
      const done = await scrape({
        urls: [{ url: a.url("/static-article") }],
        useProxy: true,
        proxyCountry: country,
        ...extra,
      });
      expect(Date.now() - t).toBeLessThan(10_000);
      expect(done.status).toBe("failed");
      expect(done.error).toMatch(new RegExp(`upstream proxy for "${country}".*${why}`, "i"));
      expect(done.error).not.toContain(PROXY_PASSWORD);
    }
  });

  it("cools a dead proxy down, so the next jobs of its country take the live one", async () => {
    // nl lists a dead proxy first, then the live one: the first job meets the dead one.
    const first = await scrape({
      urls: [{ url: a.url("/static-article") }],
      useProxy: true,
      proxyCountry: "nl",
      scrapeMode: "fast",
    });
    expect(first.status).toBe("failed");
    expect(first.error).toMatch(/upstream proxy for "nl".*refused/);
    // The liveness probe confirms the proxy is down just after the URL ended.
    await new Promise((r) => setTimeout(r, 500));
    const before = upstreamHits;
    for (let i = 0; i < 3; i++) {
      const next = await scrape({
        urls: [{ url: a.url("/static-article") }],
        useProxy: true,
        proxyCountry: "nl",
        scrapeMode: "fast",
      });
      expect(next.status, `job ${i + 2}`).toBe("completed");
    }
    expect(upstreamHits).toBeGreaterThan(before);
  });

  it("never puts proxy credentials in logs or job rows", async () => {
    const ok = await scrape({ urls: [{ url: a.url("/static-article") }], useProxy: true, proxyCountry: "us" });
    expect(ok.status).toBe("completed");
    expect(started.process.output()).toContain("upstream proxy failed");
    expect(started.process.output()).not.toContain(PROXY_PASSWORD);
    const rows = await started.stack.pool.query("select string_agg(j::text, '') as all_rows from jobs j");
    expect(rows.rows[0].all_rows).not.toContain(PROXY_PASSWORD);
  });
});
