import http from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCanary, waitFor } from "../../../testkit/src/index.ts";
import type { Canary } from "../../../testkit/src/index.ts";
import { fetchPage } from "../../src/fetch/fetch-page.ts";
import type { FetchedPage, FetchPageOptions } from "../../src/fetch/fetch-page.ts";
import type { LookupFn } from "../../src/net/check-url.ts";
import { startEgressProxy } from "../../src/net/egress-proxy.ts";
import type { EgressProxy } from "../../src/net/egress-proxy.ts";
import { TEST_TLS_CERT, TEST_TLS_KEY } from "./tls-fixture.ts";

// Behaviour the fixture site cannot show: socket teardown, trickling bodies,
// missing Content-Type, cross-site cookies and https through CONNECT.

const HTML_PAGE = "<!DOCTYPE html><html><head><title>Edge</title></head><body><p>edge page</p></body></html>";

interface EdgeServer {
  port: number;
  openSockets: Set<Socket>;
  close(): Promise<void>;
}

const seen: string[] = [];

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://edge");
  seen.push(url.pathname);
  switch (url.pathname) {
    case "/hang":
      return;
    case "/trickle": {
      res.writeHead(200, { "content-type": "text/html" });
      res.write("<html><body>");
      const t = setInterval(() => res.write("<p>more</p>"), 50);
      res.once("close", () => clearInterval(t));
      return;
    }
    case "/untyped":
      res.end(
        url.searchParams.get("binary")
          ? Buffer.from([0, 1, 2, 3, 255, 254])
          : (url.searchParams.get("body") ?? HTML_PAGE),
      );
      return;
    case "/truncated":
      res.writeHead(200, { "content-type": "text/html", "content-length": "5000" });
      res.write("<html><body>only part");
      setTimeout(() => res.destroy(), 20);
      return;
    case "/set-and-redirect":
      res.writeHead(302, { "set-cookie": ["visited=yes; Path=/; HttpOnly"], location: "/echo-cookies" });
      res.end();
      return;
    case "/to-other-site":
      res.writeHead(302, { location: `http://other.test:${url.searchParams.get("port") ?? ""}/echo-cookies` });
      res.end();
      return;
    case "/echo-cookies":
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(`<html><body><pre id="cookie">${req.headers.cookie ?? ""}</pre></body></html>`);
      return;
    default:
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(HTML_PAGE);
  }
}

async function listen(server: http.Server): Promise<EdgeServer> {
  const openSockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    openSockets.add(s);
    s.once("close", () => openSockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    openSockets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of openSockets) s.destroy();
        server.close(() => r());
      }),
  };
}

let plain: EdgeServer;
let secure: EdgeServer;
let canary: Canary;
let proxy: EgressProxy;

// "other.test" is another site on the same server, to see that caller cookies stay on their site.
const lookup: LookupFn = async (host) => {
  if (host === "other.test") return [{ address: "127.0.0.1", family: 4 }];
  throw Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" });
};

beforeAll(async () => {
  plain = await listen(http.createServer(handle));
  secure = await listen(https.createServer({ key: TEST_TLS_KEY, cert: TEST_TLS_CERT }, handle));
  canary = await startCanary();
  proxy = await startEgressProxy({
    policy: {
      allowPrivateNetwork: false,
      allowHosts: [`127.0.0.1:${plain.port}`, `127.0.0.1:${secure.port}`, `other.test:${plain.port}`],
    },
    lookup,
  });
});

afterAll(async () => {
  await proxy?.close();
  await canary?.close();
  await plain?.close();
  await secure?.close();
});

let seq = 0;
function get(url: string, extra: Partial<FetchPageOptions> = {}): Promise<FetchedPage> {
  return fetchPage({ url, proxyUrl: proxy.url, tag: `edge-${++seq}`, timeoutMs: 3000, ...extra });
}
const at = (path: string): string => `http://127.0.0.1:${plain.port}${path}`;

describe("fetchPage edge cases", () => {
  it("destroys the connection on timeout, all the way to the target", async () => {
    const page = await get(at("/hang"), { timeoutMs: 300 });
    expect(page).toMatchObject({ ok: false, kind: "timeout" });
    expect(seen).toContain("/hang");
    await waitFor(() => plain.openSockets.size === 0, { timeoutMs: 2000, message: "target socket closed" });
  });

  it("times out a body that never ends", async () => {
    const started = Date.now();
    const page = await get(at("/trickle"), { timeoutMs: 300 });
    expect(page).toMatchObject({ ok: false, kind: "timeout" });
    expect(Date.now() - started).toBeLessThan(1300);
    await waitFor(() => plain.openSockets.size === 0, { timeoutMs: 2000, message: "target socket closed" });
  });

  it("accepts an untyped response that looks like HTML, refuses untyped binary", async () => {
    expect(await get(at("/untyped"))).toMatchObject({ ok: true, html: HTML_PAGE });
    expect(await get(at("/untyped?binary=1"))).toMatchObject({ ok: false, kind: "unsupported_content" });
  });

  it("takes an untyped body for a PDF only when it starts as one, not a page that mentions %PDF-", async () => {
    const page = "<html><head><title>How a PDF starts: the %PDF-1.7 header</title></head><body>Hi</body></html>";
    expect(await get(at(`/untyped?body=${encodeURIComponent(page)}`))).toMatchObject({ ok: true, document: "html" });
    const pdf = "\n  %PDF-1.4\n%%EOF";
    expect(await get(at(`/untyped?body=${encodeURIComponent(pdf)}`))).toMatchObject({ ok: true, document: "pdf" });
  });

  it("reports a body cut short as a network failure", async () => {
    expect(await get(at("/truncated"))).toMatchObject({ ok: false, kind: "network" });
  });

  it("carries cookies set by a redirect hop to the next hop on the same host", async () => {
    const page = await get(at("/set-and-redirect"), { cookieHeader: "mine=1" });
    expect(page).toMatchObject({
      ok: true,
      html: expect.stringContaining('<pre id="cookie">mine=1; visited=yes</pre>'),
    });
  });

  it("does not leak the caller's cookies to another site after a redirect", async () => {
    const page = await get(at(`/to-other-site?port=${plain.port}`), { cookieHeader: "secret=1" });
    expect(page).toMatchObject({
      ok: true,
      finalUrl: `http://other.test:${plain.port}/echo-cookies`,
      html: expect.stringContaining('<pre id="cookie"></pre>'),
    });
  });

  it("fetches https through a CONNECT tunnel when the certificate is trusted", async () => {
    const page = await get(`https://127.0.0.1:${secure.port}/`, { ca: TEST_TLS_CERT });
    expect(page).toMatchObject({ ok: true, status: 200, html: HTML_PAGE });
  });

  it("refuses an untrusted certificate like the browser does", async () => {
    const page = await get(`https://127.0.0.1:${secure.port}/`);
    expect(page).toMatchObject({ ok: false, kind: "network" });
    if (!page.ok) expect(page.message).toMatch(/certificate/i);
  });

  it("reports a refused CONNECT target as blocked; the canary sees nothing", async () => {
    const page = await get(`https://127.0.0.1:${canary.port}/`);
    expect(page).toMatchObject({ ok: false, kind: "blocked" });
    if (!page.ok) expect(page.message).toMatch(/loopback/);
    expect(canary.hits()).toBe(0);
  });

  it("reports an unresolvable host as a network failure", async () => {
    const page = await get("http://nowhere.test/");
    expect(page).toMatchObject({ ok: false, kind: "network" });
    if (!page.ok) expect(page.message).toMatch(/HOST_NOT_FOUND/);
  });
});
