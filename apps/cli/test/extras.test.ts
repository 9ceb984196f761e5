import { createHash } from "node:crypto";
import { getFreePort, startFixtureSite, type FixtureSite } from "@orbweaver/testkit";
import { Server as ProxyServer } from "proxy-chain";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crawl } from "./helpers/crawl.ts";
import { call, scrapeAndWait, type PollBody } from "./helpers/http.ts";
import type { Spawned } from "./helpers/spawn.ts";
import { startSpawnedStack, startTestStack, useStarted, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;

beforeAll(async () => {
  site = await startFixtureSite();
});
afterAll(async () => {
  await site?.close();
});

type Envelope = { status: string; message: string; error: string };

const scrapeVia = (api: string, key: string, body: Record<string, unknown>): Promise<PollBody> =>
  scrapeAndWait(api, key, body, 60_000);

const sha = (v: string) => `sha256:${createHash("sha256").update(v).digest("hex").slice(0, 16)}`;

describe("cookies", () => {
  let api: string;
  let stack: TestStack;
  let cli: Spawned;
  // The gateway and the worker run as their own processes with debug logs, so their output can be searched.
  useStarted(
    () => startSpawnedStack({ LOG_LEVEL: "debug" }),
    (started) => ({ api, stack, process: cli } = started),
  );

  it("sends string, DevTools-table and per-URL cookies on both paths, and stores or logs none of them", async () => {
    const { key } = await stack.createKey(100);
    const secret = `tok-${Date.now()}-x9`;
    const other = `pref-${Date.now()}-y7`;
    const fast = await scrapeVia(api, key, {
      urls: [{ url: site.url("/cookies?hash=1") }],
      cookies: `session=${secret}; theme=${other}`,
    });
    expect(fast.status).toBe("completed");
    expect(fast.result!.content).toContain(sha(secret));
    expect(fast.result!.content).toContain(sha(other));

    const table = `Name\tValue\tDomain\tPath\nsession\t${secret}\t127.0.0.1\t/`;
    const browser = await scrapeVia(api, key, {
      urls: [
        {
          url: site.url("/cookies?hash=1"),
          actions: [{ type: "wait", duration: 10 }],
          cookies: [{ name: "perurl", value: other }],
        },
      ],
      cookies: table,
    });
    expect(browser.status).toBe("completed");
    expect(browser.result!.content).toContain(sha(secret));
    expect(browser.result!.content).toContain(sha(other));

    const dump = await stack.pool.query(
      `select (select coalesce(string_agg(j::text, ''), '') from jobs j) ||
              (select coalesce(string_agg(l::text, ''), '') from credit_ledger l) ||
              (select coalesce(string_agg(b::text, ''), '') from batches b) as all_rows`,
    );
    expect(dump.rows[0].all_rows).not.toContain(secret);
    expect(dump.rows[0].all_rows).not.toContain(other);
    const logs = cli.output();
    expect(logs.length).toBeGreaterThan(1000);
    expect(logs).not.toContain(secret);
    expect(logs).not.toContain(other);
  });

  it("refuses malformed cookies with 400", async () => {
    const { key } = await stack.createKey(10);
    const res = await call<Envelope>(`${api}/scrape`, {
      key,
      body: { urls: [{ url: site.url("/cookies") }], cookies: "HttpOnly" },
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/cookie/i);
  });
});

describe("proxies, fast mode and honest block detection", () => {
  let stack: TestStack;
  let key: string;
  const hits = { us: 0, de: 0 };
  const upstreams: ProxyServer[] = [];

  beforeAll(async () => {
    const ports: Record<string, number> = {};
    for (const country of ["us", "de"] as const) {
      const port = await getFreePort();
      const server = new ProxyServer({
        port,
        host: "127.0.0.1",
        prepareRequestFunction: () => {
          hits[country] += 1;
          return {};
        },
      });
      await server.listen();
      upstreams.push(server);
      ports[country] = port;
    }
    stack = await startTestStack({
      env: { PROXY_POOL: `us=http://127.0.0.1:${ports.us}, de=http://127.0.0.1:${ports.de}` },
    });
    key = (await stack.createKey(500)).key;
  });
  afterAll(async () => {
    await stack?.stop();
    for (const u of upstreams) await u.close(true);
  });

  it("routes a job through a proxy of the requested country, on the fast path and in the browser", async () => {
    const before = { ...hits };
    const fast = await scrapeVia(stack.api, key, {
      urls: [{ url: site.url("/static-article") }],
      useProxy: true,
      proxyCountry: "DE",
    });
    expect(fast.status).toBe("completed");
    expect(hits.de).toBeGreaterThan(before.de);
    expect(hits.us).toBe(before.us);
    const browser = await scrapeVia(stack.api, key, {
      urls: [{ url: site.url("/spa"), actions: [{ type: "wait", duration: 10 }] }],
      useProxy: true,
      proxyCountry: "us",
    });
    expect(browser.status).toBe("completed");
    expect(browser.result!.content).toContain("Rendered by script");
    expect(hits.us).toBeGreaterThan(before.us);
    // Bytes through upstream proxies are shown in the scrape logs.
    const log = await call<{ data: { proxy_bandwidth_mb: number; use_proxy: number; proxy_country: string } }>(
      `${stack.api}/scrape-logs/${browser.jobId}`,
      { key },
    );
    expect(log.body.data).toMatchObject({ use_proxy: 1, proxy_country: "us" });
    expect(log.body.data.proxy_bandwidth_mb).toBeGreaterThan(0);
  });

  it("applies cookies and the country's proxy to crawls too, without storing the cookie", async () => {
    const before = { ...hits };
    const secret = `crawl-${Date.now()}-z3`;
    const done = await crawl(stack.api, key, {
      baseUrl: site.url("/cookies?hash=1"),
      maxPages: 1,
      cookies: `session=${secret}`,
      useProxy: true,
      proxyCountry: "de",
    });
    expect(done.result![0]!.data).toEqual(expect.stringContaining(sha(secret)));
    expect(hits.de).toBeGreaterThan(before.de);
    expect(hits.us).toBe(before.us);
    const dump = await stack.pool.query(
      "select (select coalesce(string_agg(j::text, ''), '') from jobs j) || (select coalesce(string_agg(c::text, ''), '') from crawls c) as all_rows",
    );
    expect(dump.rows[0].all_rows).not.toContain(secret);
    const refused = await call<Envelope>(`${stack.api}/crawl`, {
      key,
      body: { baseUrl: site.url("/"), useProxy: true, proxyCountry: "jp" },
    });
    expect(refused.status).toBe(400);
  });

  it("refuses unknown or unserved countries, and ignores proxyCountry without useProxy", async () => {
    for (const proxyCountry of ["zz", "fr", "jp"]) {
      const res = await call<Envelope>(`${stack.api}/scrape`, {
        key,
        body: { urls: [{ url: site.url("/") }], useProxy: true, proxyCountry },
      });
      expect(res.status, proxyCountry).toBe(400);
      expect(res.body.message).toContain(proxyCountry);
    }
    // "eu" is served by the German proxy.
    expect(
      (
        await call(`${stack.api}/scrape`, {
          key,
          body: { urls: [{ url: site.url("/") }], useProxy: true, proxyCountry: "eu" },
        })
      ).status,
    ).toBe(202);
    const ignored = await call(`${stack.api}/scrape`, {
      key,
      body: { urls: [{ url: site.url("/") }], proxyCountry: "zz" },
    });
    expect(ignored.status).toBe(202);
  });

  it('fetches without a browser in scrapeMode "fast" (compressed, other charsets) and reports script shells honestly', async () => {
    const gz = await scrapeVia(stack.api, key, {
      urls: [{ url: site.url("/gzip") }, { url: site.url("/latin1") }],
      scrapeMode: "fast",
    });
    expect(gz.status).toBe("completed");
    expect(gz.result!.data.every((d) => d.success)).toBe(true);
    expect(gz.result!.data[1]!.markdownContent).toMatch(/[éèàü]/);
    const shell = await scrapeVia(stack.api, key, { urls: [{ url: site.url("/spa") }], scrapeMode: "fast" });
    expect(shell.status).toBe("failed");
    expect(shell.error).toMatch(/empty/i);
    const rendered = await scrapeVia(stack.api, key, { urls: [{ url: site.url("/spa") }] });
    expect(rendered.result!.content).toContain("Rendered by script");
  });

  it.each([
    ["/challenge", /bot challenge/i],
    ["/captcha", /captcha/i],
    ["/login-wall", /login wall/i],
  ])("never reports %s as a success", async (path, reason) => {
    const final = await scrapeVia(stack.api, key, { urls: [{ url: site.url(path) }] });
    expect(final.status).toBe("failed");
    expect(final.error).toMatch(reason);
  });
});
