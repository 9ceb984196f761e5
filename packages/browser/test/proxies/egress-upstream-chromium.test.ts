import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { egressProxyFor } from "../../src/net/chromium-proxy-args.ts";
import { startEgressProxy } from "../../src/net/egress-proxy.ts";
import type { EgressProxy } from "../../src/net/egress-proxy.ts";
import { createProxyPool, parseProxyPool } from "../../src/proxies/proxy-pool.ts";
import type { ProxyEntry } from "../../src/proxies/proxy-pool.ts";
import type { UpstreamFailure } from "../../src/proxies/report-upstream-failure.ts";
import { launchEgressChromium } from "../net/chromium-scenarios.ts";
import { htmlUrl, startCanary, startSite, waitFor } from "../net/net-fixtures.ts";
import type { Canary, TestServer } from "../net/net-fixtures.ts";
import { startSocks5Server } from "./socks5-server.ts";
import type { Socks5Server } from "./socks5-server.ts";
import { startTlsSite } from "./tls-site.ts";
import type { TlsSite } from "./tls-site.ts";
import { deadPort, startUpstreamProxy } from "./upstream-fixtures.ts";
import type { UpstreamProxy } from "./upstream-fixtures.ts";

// Production shape: Chromium → per-context egress proxy (tag = job) → the
// job's upstream exit → target. Targets are on 127.0.0.1 and reachable only
// because the policy lists their exact host:port.

let browser: Browser;
let site: TestServer;
let tls: TlsSite;
let canary: Canary;
let us: UpstreamProxy;
let de: UpstreamProxy;
let socks: Socks5Server;
let egress: EgressProxy;
let dead: string;
const upstreams = new Map<string, string>();
const failures: UpstreamFailure[] = [];

beforeAll(async () => {
  site = await startSite();
  tls = await startTlsSite();
  canary = await startCanary();
  us = await startUpstreamProxy({ username: "u", password: "p" });
  de = await startUpstreamProxy();
  socks = await startSocks5Server();
  dead = `http://127.0.0.1:${await deadPort()}`;
  egress = await startEgressProxy({
    policy: { allowPrivateNetwork: false, allowHosts: [`127.0.0.1:${site.port}`, `127.0.0.1:${tls.port}`] },
    resolveUpstream: (tag) => upstreams.get(tag),
    onUpstreamError: (f) => failures.push(f),
  });
  browser = await launchEgressChromium();
});
afterAll(async () => {
  await browser?.close();
  await egress?.close();
  await Promise.all([us?.close(), de?.close(), socks?.close(), site?.close(), tls?.close(), canary?.close()]);
});
beforeEach(() => {
  us.forwarded.length = 0;
  de.forwarded.length = 0;
  socks.connects.length = 0;
  failures.length = 0;
  canary.reset();
});

async function jobContext(egressUrl: string, tag: string): Promise<BrowserContext> {
  return browser.newContext({ proxy: egressProxyFor(egressUrl, tag), ignoreHTTPSErrors: true });
}

async function openWebSocket(context: BrowserContext, url: string): Promise<boolean> {
  const page = await context.newPage();
  await page.goto(`${site.origin}/`);
  return page.evaluate(
    (u) =>
      new Promise<boolean>((resolve) => {
        const ws = new WebSocket(u);
        ws.onopen = () => resolve(true);
        ws.onerror = () => resolve(false);
      }),
    url,
  );
}

describe("Chromium through the egress proxy and an upstream", () => {
  it("a context tagged for 'de' uses the de upstream only: http, https (CONNECT), WebSocket (CONNECT)", async () => {
    upstreams.set("job-de", de.url);
    const context = await jobContext(egress.url, "job-de");
    const page = await context.newPage();
    expect((await page.goto(`${site.origin}/`))?.status()).toBe(200);
    const secure = await page.goto(`${tls.origin}/`);
    expect(secure?.status()).toBe(200);
    expect(await page.title()).toBe("tls site");
    expect(await openWebSocket(context, `ws://127.0.0.1:${site.port}/ws`)).toBe(true);

    expect(de.forwarded).toContain(`GET ${site.origin}/`);
    expect(de.forwarded).toContain(`CONNECT 127.0.0.1:${tls.port}`);
    expect(de.forwarded).toContain(`CONNECT 127.0.0.1:${site.port}`);
    expect(us.forwarded).toEqual([]);
    const bytes = egress.bytes("job-de");
    expect(bytes.sent).toBeGreaterThan(0);
    expect(bytes.received).toBeGreaterThan(4000);
    await context.close();
  });

  it("two jobs with different countries use their own upstreams concurrently", async () => {
    upstreams.set("job-us", us.url);
    upstreams.set("job-de2", de.url);
    const [cUs, cDe] = await Promise.all([jobContext(egress.url, "job-us"), jobContext(egress.url, "job-de2")]);
    const [pUs, pDe] = await Promise.all([cUs.newPage(), cDe.newPage()]);
    await Promise.all([pUs.goto(`${tls.origin}/?us`), pDe.goto(`${site.origin}/?de`)]);
    // Chromium may open a second tunnel (favicon), so compare sets.
    expect(new Set(us.forwarded)).toEqual(new Set([`CONNECT 127.0.0.1:${tls.port}`]));
    expect(de.forwarded.filter((f) => !f.endsWith("favicon.ico"))).toEqual([`GET ${site.origin}/?de`]);
    await Promise.all([cUs.close(), cDe.close()]);
  });

  it("a socks5 upstream carries http and https", async () => {
    upstreams.set("job-socks", socks.url);
    const context = await jobContext(egress.url, "job-socks");
    const page = await context.newPage();
    expect((await page.goto(`${site.origin}/`))?.status()).toBe(200);
    expect((await page.goto(`${tls.origin}/`))?.status()).toBe(200);
    expect(socks.connects).toContain(`127.0.0.1:${site.port}`);
    expect(socks.connects).toContain(`127.0.0.1:${tls.port}`);
    expect(egress.bytes("job-socks").received).toBeGreaterThan(4000);
    await context.close();
  });

  it("SSRF checks run locally first: a forbidden subresource never reaches the upstream", async () => {
    upstreams.set("job-ssrf", de.url);
    const context = await jobContext(egress.url, "job-ssrf");
    const page = await context.newPage();
    await page.goto(htmlUrl(site, `<img src="http://127.0.0.1:${canary.port}/x.png">`));
    expect(await waitFor(() => egress.blocked("job-ssrf").length > 0)).toBe(true);
    expect(de.forwarded.some((f) => f.includes(`:${canary.port}`))).toBe(false);
    expect(canary.hits()).toBe(0);
    await context.close();
  });

  it("a dead upstream is reported for the job's tag", async () => {
    upstreams.set("job-dead", dead);
    const context = await jobContext(egress.url, "job-dead");
    const page = await context.newPage();
    await page.goto(`${tls.origin}/`, { timeout: 8000 }).catch(() => undefined);
    expect(await waitFor(() => failures.some((f) => f.tag === "job-dead"))).toBe(true);
    expect(failures.find((f) => f.tag === "job-dead")).toMatchObject({ upstreamUrl: dead, kind: "unreachable" });
    await context.close();
  });
});

describe("worker wiring: pool + resolveUpstream + onUpstreamError", () => {
  it("marks the dead exit failed, moves the job to the next 'de' exit, and the retry succeeds", async () => {
    const pool = createProxyPool(parseProxyPool(`de=${dead} de=${de.url} us=${us.url}`));
    const jobs = new Map<string, { country: string; entry: ProxyEntry | undefined }>();
    const worker = await startEgressProxy({
      policy: { allowPrivateNetwork: false, allowHosts: [`127.0.0.1:${site.port}`, `127.0.0.1:${tls.port}`] },
      resolveUpstream: (tag) => jobs.get(tag)?.entry?.url,
      onUpstreamError: (f) => {
        const job = jobs.get(f.tag);
        // Only the first report for the exit the job is on counts; later ones are stale.
        if (job?.entry === undefined || job.entry.url !== f.upstreamUrl) return;
        pool.markFailed(job.entry);
        job.entry = pool.pick(job.country);
      },
    });
    try {
      jobs.set("job-1", { country: "de", entry: pool.pick("de") });
      expect(jobs.get("job-1")?.entry?.url).toBe(dead);
      const context = await jobContext(worker.url, "job-1");
      const page = await context.newPage();
      const first = await page.goto(`${tls.origin}/`, { timeout: 8000 }).catch(() => undefined);
      expect(first?.ok() ?? false).toBe(false);
      expect(await waitFor(() => jobs.get("job-1")?.entry?.url === de.url)).toBe(true);
      // Retry on a fresh page: the failed one is still settling on Chromium's error page.
      const retry = await (await context.newPage()).goto(`${tls.origin}/`);
      expect(retry?.status()).toBe(200);
      expect(de.forwarded).toContain(`CONNECT 127.0.0.1:${tls.port}`);
      expect(us.forwarded).toEqual([]);
      // The dead exit cools down: the next 'de' job starts on the healthy one.
      expect(pool.pick("de")?.url).toBe(de.url);
      await context.close();
      worker.forget("job-1");
    } finally {
      await worker.close();
    }
  });
});
