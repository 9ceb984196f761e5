import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { LookupFn } from "../../src/net/check-url.ts";
import { BLOCKED_HEADER, startEgressProxy } from "../../src/net/egress-proxy.ts";
import type { EgressProxy } from "../../src/net/egress-proxy.ts";
import { startCanary, startSite } from "./net-fixtures.ts";
import type { Canary, TestServer } from "./net-fixtures.ts";
import { getThrough, rawProxyRequest } from "../proxies/upstream-fixtures.ts";
import type { TunnelReply } from "../proxies/upstream-fixtures.ts";

// Raw proxy clients, so every request shape is exercised without a browser.

const auth = (tag: string) => `Basic ${Buffer.from(`${tag}:x`).toString("base64")}`;

async function connectVia(proxyPort: number, target: string, tag?: string): Promise<TunnelReply> {
  const a = tag === undefined ? "" : `Proxy-Authorization: ${auth(tag)}\r\n`;
  return rawProxyRequest(proxyPort, `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${a}\r\n`);
}

let canary: Canary;
let site: TestServer & { upgrades: number };
let proxy: EgressProxy;
let lookups: string[] = [];
const warnings: Array<{ obj: object; msg: string }> = [];
// Fake DNS for names; IP literals never reach it.
const lookup: LookupFn = async (host) => {
  lookups.push(host);
  if (host === "site.test") return [{ address: "127.0.0.1", family: 4 }];
  if (host === "mixed.test")
    return [
      { address: "93.184.215.14", family: 4 },
      { address: "127.0.0.1", family: 4 },
    ];
  if (host === "localhost") return [{ address: "127.0.0.1", family: 4 }];
  throw Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" });
};

beforeAll(async () => {
  canary = await startCanary();
  site = await startSite();
  proxy = await startEgressProxy({
    policy: { allowPrivateNetwork: false, allowHosts: [`127.0.0.1:${site.port}`, `site.test:${site.port}`] },
    lookup,
    log: { warn: (obj, msg) => warnings.push({ obj, msg }) },
  });
});
afterAll(async () => {
  await proxy.close();
  await canary.close();
  await site.close();
});
beforeEach(() => {
  canary.reset();
  lookups = [];
});

describe("egress proxy (raw clients)", () => {
  it("challenges requests without credentials with 407 Basic realm=orbweaver", async () => {
    const r = await connectVia(proxy.port, `127.0.0.1:${site.port}`);
    expect(r.status).toBe(407);
    expect(r.headers["proxy-authenticate"]).toBe('Basic realm="orbweaver"');
    r.socket.destroy();
  });

  it.each([
    ["127.0.0.1", "127.0.0.1 is a loopback address"],
    ["2130706433", "127.0.0.1 is a loopback address"],
    ["0x7f.0.0.1", "127.0.0.1 is a loopback address"],
    ["0177.0.0.1", "127.0.0.1 is a loopback address"],
    ["[::ffff:127.0.0.1]", "loopback"],
    ["localhost", "loopback name"],
    ["mixed.test", "mixed.test resolves to a loopback address, which is not allowed"],
  ])("refuses CONNECT %s:<canary> with 403 and never touches the canary", async (host, reason) => {
    const r = await connectVia(proxy.port, `${host}:${canary.port}`, "t-connect");
    expect(r.status).toBe(403);
    expect(r.headers[BLOCKED_HEADER]).toContain(reason);
    r.socket.destroy();
    expect(canary.connections).toBe(0);
    expect(proxy.blocked("t-connect").at(-1)?.target).toMatch(new RegExp(`:${canary.port}$`));
  });

  it("tunnels CONNECT to an allowed host:port and counts bytes for the tag", async () => {
    const r = await connectVia(proxy.port, `127.0.0.1:${site.port}`, "t-tunnel");
    expect(r.status).toBe(200);
    const body = await new Promise<string>((resolve) => {
      let b = "";
      r.socket.on("data", (d: Buffer) => (b += d.toString()));
      r.socket.on("end", () => resolve(b));
      r.socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    expect(body).toContain("<title>site</title>");
    const b = proxy.bytes("t-tunnel");
    expect(b.sent).toBeGreaterThan(0);
    expect(b.received).toBeGreaterThan(2000);
    expect(proxy.blocked("t-tunnel")).toEqual([]);
  });

  it("proxies plain HTTP to allowed targets and refuses the canary", async () => {
    const ok = await getThrough(proxy.port, `${site.origin}/`, "t-http");
    expect(ok.status).toBe(200);
    expect(ok.body).toContain("site");
    const no = await getThrough(proxy.port, `${canary.origin}/secret`, "t-http");
    expect(no.status).toBe(403);
    expect(no.headers[BLOCKED_HEADER]).toBe("127.0.0.1 is a loopback address");
    expect(canary.connections).toBe(0);
    expect(proxy.blocked("t-http")).toEqual([
      { target: `${canary.origin}/secret`, reason: "127.0.0.1 is a loopback address" },
    ]);
    expect(proxy.bytes("t-http").received).toBeGreaterThan(0);
  });

  it("resolves a name once and connects to exactly the checked address", async () => {
    const ok = await getThrough(proxy.port, `http://site.test:${site.port}/`, "t-pin");
    expect(ok.status).toBe(200);
    expect(lookups).toEqual(["site.test"]);
  });

  it("refuses non-http absolute URIs", async () => {
    const r = await rawProxyRequest(
      proxy.port,
      `GET ftp://127.0.0.1:${canary.port}/ HTTP/1.1\r\nProxy-Authorization: ${auth("t-ftp")}\r\n\r\n`,
    );
    expect(r.status).toBeGreaterThanOrEqual(400);
    r.socket.destroy();
    expect(canary.connections).toBe(0);
  });

  it("answers unknown names with 502, not a block", async () => {
    const r = await connectVia(proxy.port, "nxdomain.test:443", "t-nx");
    expect(r.status).toBe(502);
    expect(r.headers["x-orbweaver-error"]).toBe("HOST_NOT_FOUND");
    r.socket.destroy();
    expect(proxy.blocked("t-nx")).toEqual([]);
  });

  const upgradeHead = (url: string, tag: string | undefined) =>
    `GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
    (tag === undefined ? "" : `Proxy-Authorization: ${auth(tag)}\r\n`) +
    "\r\n";

  it("relays absolute-URI WebSocket upgrades to allowed hosts and refuses the canary", async () => {
    const noAuth = await rawProxyRequest(proxy.port, upgradeHead(`${site.origin}/ws`, undefined));
    expect(noAuth.status).toBe(407);
    noAuth.socket.destroy();
    const ok = await rawProxyRequest(proxy.port, upgradeHead(`${site.origin}/ws`, "t-ws"));
    expect(ok.status).toBe(101);
    expect(site.upgrades).toBeGreaterThan(0);
    ok.socket.destroy();
    const no = await rawProxyRequest(proxy.port, upgradeHead(`http://127.0.0.1:${canary.port}/ws`, "t-ws"));
    expect(no.status).toBe(403);
    expect(no.headers[BLOCKED_HEADER]).toContain("loopback");
    no.socket.destroy();
    expect(canary.connections).toBe(0);
    expect(proxy.blocked("t-ws")).toHaveLength(1);
  });

  it("logs refusals with tag, target and reason", async () => {
    const r = await connectVia(proxy.port, `127.0.0.1:${canary.port}`, "t-log");
    r.socket.destroy();
    expect(warnings.at(-1)).toEqual({
      obj: { tag: "t-log", target: `127.0.0.1:${canary.port}`, reason: "127.0.0.1 is a loopback address" },
      msg: "egress refused",
    });
  });

  it("logs a refused URL without its credentials or query (tokens travel there)", async () => {
    const no = await getThrough(
      proxy.port,
      `http://user:pa55word@127.0.0.1:${canary.port}/hook?token=s3cret#x`,
      "t-red",
    );
    expect(no.status).toBe(403);
    expect(warnings.at(-1)).toEqual({
      obj: {
        tag: "t-red",
        target: `http://127.0.0.1:${canary.port}/hook?[redacted]`,
        reason: "127.0.0.1 is a loopback address",
      },
      msg: "egress refused",
    });
    expect(JSON.stringify(warnings)).not.toMatch(/pa55word|s3cret/);
    expect(canary.connections).toBe(0);
  });

  it("forget(tag) drops the tag's bookkeeping", async () => {
    const r = await connectVia(proxy.port, `127.0.0.1:${canary.port}`, "t-forget");
    r.socket.destroy();
    expect(proxy.blocked("t-forget")).toHaveLength(1);
    proxy.forget("t-forget");
    expect(proxy.blocked("t-forget")).toEqual([]);
    expect(proxy.bytes("t-forget")).toEqual({ sent: 0, received: 0 });
  });
});

describe("egress proxy with allowPrivateNetwork", () => {
  it("reaches the canary (the checks above can fail)", async () => {
    const open = await startEgressProxy({ policy: { allowPrivateNetwork: true, allowHosts: [] } });
    try {
      const res = await getThrough(open.port, `${canary.origin}/`, "t-open");
      expect(res.status).toBe(200);
      expect(res.body).toContain("CANARY REACHED");
      expect(canary.connections).toBeGreaterThan(0);
      const r = await connectVia(open.port, `127.0.0.1:${canary.port}`, "t-open");
      expect(r.status).toBe(200);
      r.socket.destroy();
    } finally {
      await open.close();
    }
  });
});
