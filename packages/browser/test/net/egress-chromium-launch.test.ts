import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { egressProxyFor } from "../../src/net/chromium-proxy-args.ts";
import { startEgressProxy } from "../../src/net/egress-proxy.ts";
import type { EgressProxy } from "../../src/net/egress-proxy.ts";
import { launchEgressChromium, SCENARIOS, runScenario } from "./chromium-scenarios.ts";
import type { ScenarioEnv } from "./chromium-scenarios.ts";
import { startCanary, startSite, waitFor } from "./net-fixtures.ts";
import type { Canary, TestServer } from "./net-fixtures.ts";

// Launch-level proxy (tag "browser") plus the findings about per-context
// proxies and Chromium's implicit loopback bypass.

let browser: Browser;
let canary: Canary;
let site: TestServer;
let proxy: EgressProxy;

beforeAll(async () => {
  canary = await startCanary();
  site = await startSite();
  proxy = await startEgressProxy({ policy: { allowPrivateNetwork: false, allowHosts: [`127.0.0.1:${site.port}`] } });
  browser = await launchEgressChromium(egressProxyFor(proxy.url, "browser"));
});
afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await canary?.close();
  await site?.close();
});
beforeEach(() => canary.reset());

const env: ScenarioEnv = {
  get site() {
    return site;
  },
  get canary() {
    return canary;
  },
  async newContext() {
    // No context proxy: the launch-level proxy (and its tag) applies.
    const context = await browser.newContext();
    return { context, blocked: () => proxy.blocked("browser") };
  },
};

const SUBSET = new Set([
  "HTTP 302 redirect",
  "JS location change",
  "<img>",
  "<iframe>",
  "fetch()",
  "WebSocket",
  "page URL decimal 2130706433",
  "page URL localhost",
]);

describe("launch-level egress proxy through Chromium", () => {
  it.each(SCENARIOS.filter((s) => SUBSET.has(s.name)))("$name never reaches the canary", async (s) => {
    const { blockedCanary } = await runScenario(env, s, false);
    expect(canary.hits()).toBe(0);
    expect(blockedCanary).toBe(true);
  });

  it("attributes default-context traffic to the launch tag", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    expect((await page.goto(`${site.origin}/`))?.status()).toBe(200);
    expect(proxy.bytes("browser").received).toBeGreaterThan(0);
    await context.close();
  });
});

/** Runs `fn` with Playwright's forced `<-loopback>` for context proxies switched off. */
async function withoutPlaywrightLoopbackDefault<T>(fn: () => Promise<T>): Promise<T> {
  const key = "PLAYWRIGHT_DISABLE_FORCED_CHROMIUM_PROXIED_LOOPBACK";
  process.env[key] = "1";
  try {
    return await fn();
  } finally {
    delete process.env[key];
  }
}

async function gotoCanary(context: BrowserContext, target: Canary = canary): Promise<number | undefined> {
  const page = await context.newPage();
  const res = await page.goto(`http://127.0.0.1:${target.port}/`, { timeout: 8000 }).catch(() => null);
  return res?.status();
}

describe("findings: per-context proxies and loopback", () => {
  it("a context proxy without <-loopback> in its own bypass list lets 127.0.0.1 go direct, launch flag or not", async () => {
    // A canary of its own: Chromium may open more connections to it (preconnects) after the page,
    // and they must not land on the shared canary the next tests expect untouched.
    const leakedTo = await startCanary();
    try {
      const context = await withoutPlaywrightLoopbackDefault(() =>
        browser.newContext({ proxy: { server: proxy.url, username: "leaky", password: "x" } }),
      );
      const status = await gotoCanary(context, leakedTo);
      await context.close();
      // Chromium's implicit loopback bypass: the request never touched the proxy.
      expect(status).toBe(200);
      expect(await waitFor(() => leakedTo.hits() > 0)).toBe(true);
      expect(proxy.blocked("leaky")).toEqual([]);
    } finally {
      await leakedTo.close();
    }
  });

  it("egressProxyFor() sets bypass <-loopback> explicitly, so the context proxy covers loopback regardless", async () => {
    const context = await withoutPlaywrightLoopbackDefault(() =>
      browser.newContext({ proxy: egressProxyFor(proxy.url, "explicit") }),
    );
    const status = await gotoCanary(context);
    await context.close();
    expect(status).toBe(403);
    expect(canary.hits()).toBe(0);
    expect(proxy.blocked("explicit")[0]?.reason).toBe("127.0.0.1 is a loopback address");
  });

  it("with Playwright's default, a context proxy given only server/credentials covers loopback too", async () => {
    const context = await browser.newContext({ proxy: { server: proxy.url, username: "pw-default", password: "x" } });
    const status = await gotoCanary(context);
    await context.close();
    expect(status).toBe(403);
    expect(canary.hits()).toBe(0);
  });
});
