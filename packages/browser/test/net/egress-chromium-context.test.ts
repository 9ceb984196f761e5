import dgram from "node:dgram";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { egressProxyAt, egressProxyFor } from "../../src/net/chromium-proxy-args.ts";
import { BLOCKED_HEADER, startEgressProxy } from "../../src/net/egress-proxy.ts";
import type { EgressProxy } from "../../src/net/egress-proxy.ts";
import { launchEgressChromium, SCENARIOS, runScenario } from "./chromium-scenarios.ts";
import type { ScenarioEnv } from "./chromium-scenarios.ts";
import { htmlUrl, startCanary, startSite, waitFor } from "./net-fixtures.ts";
import type { Canary, TestServer } from "./net-fixtures.ts";

// Production shape: browser launched with the egress args, each job context
// carrying its own per-context proxy: a port of the egress proxy leased to the
// job's tag (no credentials). The Basic-username form is checked once too.

let browser: Browser;
let canary: Canary;
let site: TestServer;
let proxy: EgressProxy;
let openProxy: EgressProxy;
let n = 0;

beforeAll(async () => {
  canary = await startCanary();
  site = await startSite();
  proxy = await startEgressProxy({ policy: { allowPrivateNetwork: false, allowHosts: [`127.0.0.1:${site.port}`] } });
  openProxy = await startEgressProxy({ policy: { allowPrivateNetwork: true, allowHosts: [] } });
  browser = await launchEgressChromium();
});
afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await openProxy?.close();
  await canary?.close();
  await site?.close();
});
beforeEach(() => canary.reset());

function envFor(p: () => EgressProxy): ScenarioEnv {
  return {
    get site() {
      return site;
    },
    get canary() {
      return canary;
    },
    async newContext() {
      const tag = `job-${++n}`;
      const port = await p().listen(tag);
      const context = await browser.newContext({ proxy: egressProxyAt(port.url) });
      context.once("close", () => port.release());
      return { context, blocked: () => p().blocked(tag) };
    },
  };
}

describe("per-context egress proxy through Chromium", () => {
  const guarded = envFor(() => proxy);
  it.each(SCENARIOS)("$name never reaches the canary", async (s) => {
    const { blockedCanary } = await runScenario(guarded, s, false);
    expect(canary.hits()).toBe(0);
    expect(blockedCanary).toBe(true);
  });

  it.each([
    ["a port of its own", "port"],
    ["the Basic username", "username"],
  ])("reports the refused target for the tag told by %s and counts bytes of the page load", async (_, how) => {
    const port = how === "port" ? await proxy.listen("job-bytes") : undefined;
    const context = await browser.newContext({
      proxy: port ? egressProxyAt(port.url) : egressProxyFor(proxy.url, "job-bytes"),
    });
    const page = await context.newPage();
    const res = await page.goto(htmlUrl(site, `<title>ok</title><img src="http://127.0.0.1:${canary.port}/x.png">`));
    expect(res?.status()).toBe(200);
    expect(await waitFor(() => proxy.blocked("job-bytes").length > 0)).toBe(true);
    expect(proxy.blocked("job-bytes")).toContainEqual({
      target: `http://127.0.0.1:${canary.port}/x.png`,
      reason: "127.0.0.1 is a loopback address",
    });
    const bytes = proxy.bytes("job-bytes");
    expect(bytes.sent).toBeGreaterThan(0);
    expect(bytes.received).toBeGreaterThan(0);
    // Another tag sees none of it.
    expect(proxy.blocked("job-other")).toEqual([]);
    expect(proxy.bytes("job-other")).toEqual({ sent: 0, received: 0 });
    const direct = await page.goto(`http://127.0.0.1:${canary.port}/`);
    expect(direct?.status()).toBe(403);
    expect(await direct?.headerValue(BLOCKED_HEADER)).toBe("127.0.0.1 is a loopback address");
    await context.close();
    port?.release();
    proxy.forget("job-bytes");
    expect(canary.connections).toBe(0);
  });

  it("a released port is refused, and leased again it belongs to its new tag only", async () => {
    const first = await proxy.listen("job-first");
    const a = await browser.newContext({ proxy: egressProxyAt(first.url) });
    await (await a.newPage()).goto(htmlUrl(site, "<title>a</title>"));
    await a.close();
    first.release();
    // Nothing listens for a tag now: a client that kept the address gets no connection through.
    const late = await browser.newContext({ proxy: egressProxyAt(first.url) });
    await expect((await late.newPage()).goto(htmlUrl(site, "<title>late</title>"))).rejects.toThrow();
    await late.close();
    const sentBefore = proxy.bytes("job-first").sent;
    expect(sentBefore).toBeGreaterThan(0);
    // The next lease reuses the released port for another tag.
    const second = await proxy.listen("job-second");
    expect(second.url).toBe(first.url);
    const b = await browser.newContext({ proxy: egressProxyAt(second.url) });
    await (await b.newPage()).goto(htmlUrl(site, "<title>b</title>"));
    await b.close();
    second.release();
    expect(proxy.bytes("job-second").sent).toBeGreaterThan(0);
    expect(proxy.bytes("job-first").sent).toBe(sentBefore);
  });

  it("an allowed WebSocket works through the proxy (the WebSocket scenario is not vacuous)", async () => {
    const port = await proxy.listen("job-ws-ok");
    const context = await browser.newContext({ proxy: egressProxyAt(port.url) });
    const page = await context.newPage();
    await page.goto(`${site.origin}/`);
    const opened = await page.evaluate(
      (url) =>
        new Promise<boolean>((resolve) => {
          const ws = new WebSocket(url);
          ws.onopen = () => resolve(true);
          ws.onerror = () => resolve(false);
        }),
      `ws://127.0.0.1:${site.port}/ws`,
    );
    expect(opened).toBe(true);
    await context.close();
    port.release();
  });

  it("WebRTC sends no UDP (STUN to 127.0.0.1) and its TURN/TCP goes through the proxy", async () => {
    const udp = dgram.createSocket("udp4");
    let datagrams = 0;
    udp.on("message", () => datagrams++);
    await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));
    try {
      const port = await proxy.listen("job-rtc");
      const context = await browser.newContext({ proxy: egressProxyAt(port.url) });
      const page = await context.newPage();
      await page.goto(
        htmlUrl(
          site,
          `<script>
          const pc = new RTCPeerConnection({ iceServers: [
            { urls: "stun:127.0.0.1:${udp.address().port}" },
            { urls: "turn:127.0.0.1:${canary.port}?transport=tcp", username: "u", credential: "p" } ] });
          pc.createDataChannel("x");
          pc.createOffer().then((o) => pc.setLocalDescription(o));
          </script>`,
        ),
      );
      await waitFor(() => proxy.blocked("job-rtc").length > 0, 4000);
      await page.waitForTimeout(500);
      expect(datagrams).toBe(0);
      expect(canary.connections).toBe(0);
      await context.close();
      port.release();
    } finally {
      udp.close();
    }
  });
});

describe("control: a proxy with allowPrivateNetwork lets the same scenarios through", () => {
  const open = envFor(() => openProxy);
  it.each(SCENARIOS)("$name reaches the canary", async (s) => {
    await runScenario(open, s, true);
    // The open proxy pools target sockets, so a later scenario may reuse one: count requests too.
    expect(canary.hits()).toBeGreaterThan(0);
  });
});
