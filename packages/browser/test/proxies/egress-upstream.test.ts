import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { LookupFn } from "../../src/net/check-url.ts";
import { BLOCKED_HEADER, startEgressProxy } from "../../src/net/egress-proxy.ts";
import type { EgressProxy } from "../../src/net/egress-proxy.ts";
import type { UpstreamFailure } from "../../src/proxies/report-upstream-failure.ts";
import { startCanary, startSite, waitFor } from "../net/net-fixtures.ts";
import type { Canary, TestServer } from "../net/net-fixtures.ts";
import { startSocks5Server } from "./socks5-server.ts";
import type { Socks5Server } from "./socks5-server.ts";
import { connectThrough, deadPort, getOverTunnel, getThrough, startUpstreamProxy } from "./upstream-fixtures.ts";
import type { UpstreamProxy } from "./upstream-fixtures.ts";

// Egress proxy chaining to real upstream proxies (proxy-chain Servers, a SOCKS5
// server), driven by raw clients so each path (CONNECT / plain HTTP × http / socks) is hit.

let site: TestServer;
let canary: Canary;
let us: UpstreamProxy;
let de: UpstreamProxy;
let socks: Socks5Server;
let egress: EgressProxy;
let deadHttp: string;
let deadSocks: string;
const upstreams = new Map<string, string>();
const failures: UpstreamFailure[] = [];
const warnings: Array<{ obj: object; msg: string }> = [];

// Only the egress proxy's local check uses this; upstreams resolve names themselves.
const lookup: LookupFn = async (host) => {
  if (host === "site.test") return [{ address: "127.0.0.1", family: 4 }];
  throw Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" });
};

beforeAll(async () => {
  site = await startSite();
  canary = await startCanary();
  us = await startUpstreamProxy({ username: "u", password: "p w" });
  de = await startUpstreamProxy();
  socks = await startSocks5Server({ username: "su", password: "sp", hosts: { "site.test": "127.0.0.1" } });
  deadHttp = `http://127.0.0.1:${await deadPort()}`;
  deadSocks = `socks5h://127.0.0.1:${await deadPort()}`;
  egress = await startEgressProxy({
    policy: { allowPrivateNetwork: false, allowHosts: [`127.0.0.1:${site.port}`, `site.test:${site.port}`] },
    lookup,
    resolveUpstream: (tag) => upstreams.get(tag),
    onUpstreamError: (f) => failures.push(f),
    log: { warn: (obj, msg) => warnings.push({ obj, msg }) },
  });
  upstreams.set("t-us", us.url.replace("p w", "p%20w"));
  upstreams.set("t-de", de.url);
  upstreams.set("t-socks", socks.url.replace("socks5:", "socks5h:"));
  upstreams.set("t-dead", deadHttp);
  upstreams.set("t-dead-socks", deadSocks);
  upstreams.set("t-badauth", `http://u:wrong@127.0.0.1:${us.port}`);
  upstreams.set("t-badauth-socks", `socks5h://su:wrong@127.0.0.1:${socks.port}`);
  upstreams.set("t-invalid", "ftp://127.0.0.1:21");
});
afterAll(async () => {
  await egress?.close();
  await Promise.all([us?.close(), de?.close(), socks?.close(), site?.close(), canary?.close()]);
});
beforeEach(() => {
  us.forwarded.length = 0;
  de.forwarded.length = 0;
  socks.connects.length = 0;
  failures.length = 0;
  canary.reset();
});

describe("CONNECT through an upstream", () => {
  it("tunnels via the tag's http upstream only, and counts the bytes for the tag", async () => {
    const r = await connectThrough(egress.port, `127.0.0.1:${site.port}`, "t-de");
    expect(r.status).toBe(200);
    expect(await getOverTunnel(r.socket, "127.0.0.1")).toContain("<title>site</title>");
    expect(de.forwarded).toEqual([`CONNECT 127.0.0.1:${site.port}`]);
    expect(us.forwarded).toEqual([]);
    const b = egress.bytes("t-de");
    expect(b.sent).toBeGreaterThan(0);
    expect(b.received).toBeGreaterThan(2000);
  });

  it("sends the upstream's credentials (percent-decoded)", async () => {
    const r = await connectThrough(egress.port, `127.0.0.1:${site.port}`, "t-us");
    expect(r.status).toBe(200);
    r.socket.destroy();
    expect(us.forwarded).toEqual([`CONNECT 127.0.0.1:${site.port}`]);
  });

  it("tunnels via socks5h, the upstream resolving the name, with user/password auth", async () => {
    const r = await connectThrough(egress.port, `site.test:${site.port}`, "t-socks");
    expect(r.status).toBe(200);
    expect(await getOverTunnel(r.socket, "site.test")).toContain("<title>site</title>");
    expect(socks.connects).toEqual([`site.test:${site.port}`]);
    expect(egress.bytes("t-socks").received).toBeGreaterThan(2000);
  });

  it("still refuses forbidden targets locally: the upstream is never asked", async () => {
    for (const tag of ["t-de", "t-socks"]) {
      const r = await connectThrough(egress.port, `127.0.0.1:${canary.port}`, tag);
      expect(r.status).toBe(403);
      expect(r.headers[BLOCKED_HEADER]).toBe("127.0.0.1 is a loopback address");
      r.socket.destroy();
    }
    expect(de.forwarded).toEqual([]);
    expect(socks.connects).toEqual([]);
    expect(canary.hits()).toBe(0);
    expect(egress.blocked("t-de").at(-1)?.target).toBe(`127.0.0.1:${canary.port}`);
  });
});

describe("plain HTTP through an upstream", () => {
  it("forwards via the tag's http upstream only", async () => {
    const res = await getThrough(egress.port, `${site.origin}/`, "t-us");
    expect(res.status).toBe(200);
    expect(res.body).toContain("<title>site</title>");
    expect(us.forwarded).toEqual([`GET ${site.origin}/`]);
    expect(de.forwarded).toEqual([]);
    expect(egress.bytes("t-us").received).toBeGreaterThan(2000);
  });

  it("forwards via socks5h", async () => {
    const res = await getThrough(egress.port, `http://site.test:${site.port}/`, "t-socks");
    expect(res.status).toBe(200);
    expect(socks.connects).toEqual([`site.test:${site.port}`]);
  });

  it("refuses forbidden targets before the upstream", async () => {
    const res = await getThrough(egress.port, `${canary.origin}/secret`, "t-de");
    expect(res.status).toBe(403);
    expect(de.forwarded).toEqual([]);
    expect(canary.hits()).toBe(0);
  });
});

describe("failing upstreams are reported", () => {
  const only = (tag: string) => failures.filter((f) => f.tag === tag);

  it.each([
    ["t-dead", () => deadHttp],
    ["t-dead-socks", () => deadSocks],
  ])("%s: connection refused → unreachable, for CONNECT and plain HTTP", async (tag, url) => {
    const r = await connectThrough(egress.port, `127.0.0.1:${site.port}`, tag);
    expect(r.status).toBeGreaterThanOrEqual(500);
    r.socket.destroy();
    const res = await getThrough(egress.port, `${site.origin}/`, tag);
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(await waitFor(() => only(tag).length === 2)).toBe(true);
    for (const f of only(tag)) {
      expect(f).toMatchObject({ tag, upstreamUrl: url(), kind: "unreachable" });
      expect(f.detail).toMatch(/ECONNREFUSED/);
    }
    expect(only(tag).map((f) => f.target)).toEqual([`127.0.0.1:${site.port}`, `${site.origin}/`]);
  });

  it.each(["t-badauth", "t-badauth-socks"])("%s: rejected credentials → auth", async (tag) => {
    const r = await connectThrough(egress.port, `127.0.0.1:${site.port}`, tag);
    expect(r.status).toBe(597);
    r.socket.destroy();
    expect(await waitFor(() => only(tag).length === 1)).toBe(true);
    expect(only(tag)[0]).toMatchObject({ tag, kind: "auth" });
    if (tag === "t-badauth") {
      const res = await getThrough(egress.port, `${site.origin}/`, tag);
      expect(res.status).toBe(597);
      expect(await waitFor(() => only(tag).length === 2)).toBe(true);
    }
  });

  it("a dead target behind a healthy upstream is not blamed on the upstream", async () => {
    const port = await deadPort();
    const open = await startEgressProxy({
      policy: { allowPrivateNetwork: true, allowHosts: [] },
      resolveUpstream: (tag) => (tag === "s" ? socks.url : de.url),
      onUpstreamError: (f) => failures.push(f),
    });
    try {
      const r = await connectThrough(open.port, `127.0.0.1:${port}`, "h");
      // proxy-chain as upstream drops the tunnel when its target refuses, so our hop
      // sees a reset (595), like a dying upstream would; only the probe tells them apart.
      expect(r.status).toBe(595);
      r.socket.destroy();
      const res = await getThrough(open.port, `http://127.0.0.1:${port}/`, "h");
      expect(res.status).toBeGreaterThanOrEqual(500); // the upstream's own error, relayed
      const s = await connectThrough(open.port, `127.0.0.1:${port}`, "s");
      expect(s.status).toBeGreaterThanOrEqual(500);
      s.socket.destroy();
      // Give a (wrong) report time to arrive: probes to 127.0.0.1 answer in milliseconds.
      await new Promise((r) => setTimeout(r, 300));
      expect(failures).toEqual([]);
    } finally {
      await open.close();
    }
  });

  it("an upstream that answers CONNECT with an error status is alive: 590, not reported", async () => {
    const refusing = net.createServer((s) => {
      s.on("error", () => s.destroy());
      s.once("data", () => s.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"));
    });
    await new Promise<void>((r) => refusing.listen(0, "127.0.0.1", r));
    upstreams.set("t-refusing", `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`);
    try {
      const r = await connectThrough(egress.port, `127.0.0.1:${site.port}`, "t-refusing");
      expect([r.status, r.reason]).toEqual([590, "UPSTREAM502"]);
      r.socket.destroy();
      await new Promise((r) => setTimeout(r, 300));
      expect(failures).toEqual([]);
    } finally {
      await new Promise<void>((r) => refusing.close(() => r()));
    }
  });

  it("logs failures without the upstream password", async () => {
    const r = await connectThrough(egress.port, `127.0.0.1:${site.port}`, "t-badauth");
    r.socket.destroy();
    expect(await waitFor(() => warnings.some((w) => w.msg === "upstream proxy failed"))).toBe(true);
    const text = JSON.stringify(warnings);
    expect(text).toContain("u:***@127.0.0.1");
    expect(text).not.toContain("wrong");
  });

  it("an unusable upstream URL is a 502, not a crash", async () => {
    const r = await connectThrough(egress.port, `127.0.0.1:${site.port}`, "t-invalid");
    expect(r.status).toBe(502);
    expect(r.headers["x-orbweaver-error"]).toBe("UPSTREAM_INVALID");
    r.socket.destroy();
  });

  it("tags without an upstream still go direct", async () => {
    const res = await getThrough(egress.port, `${site.origin}/`, "t-direct");
    expect(res.status).toBe(200);
    expect([...us.forwarded, ...de.forwarded, ...socks.connects]).toEqual([]);
  });
});
