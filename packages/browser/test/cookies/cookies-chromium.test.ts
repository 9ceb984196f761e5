import http from "node:http";
import type { AddressInfo } from "node:net";
import { chromium } from "playwright-core";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCookieInput } from "../../src/cookies/parse-cookies.ts";
import { toPlaywrightCookies } from "../../src/cookies/scope-cookies.ts";
import { BASE_CHROMIUM_ARGS } from "../../src/chromium-args.ts";

// Real Chromium: do the scoped cookies reach the target, survive in-site
// redirects, and stay away from other sites?

interface EchoServer {
  port: number;
  /** Cookie header of every request, with the Host it was sent to. */
  seen: Array<{ host: string; path: string; cookie: string }>;
  close(): Promise<void>;
}

/** /echo answers the Cookie header it got; /redirect?to=U redirects with 302. */
async function startEchoServer(): Promise<EchoServer> {
  const seen: EchoServer["seen"] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const cookie = req.headers.cookie ?? "";
    seen.push({ host: req.headers.host ?? "", path: url.pathname, cookie });
    if (url.pathname === "/redirect") {
      res.writeHead(302, { location: url.searchParams.get("to") ?? "/echo" });
      res.end();
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(cookie);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function cookieAt(page: Page, url: string): Promise<string> {
  const res = await page.goto(url);
  return (await res?.text()) ?? "<no response>";
}

let echo: EchoServer;
let other: EchoServer;
let browser: Browser;
// Every name maps to 127.0.0.1, so real-looking hosts (co.uk, github.io) reach the local echo server.
let mappedBrowser: Browser;

beforeAll(async () => {
  echo = await startEchoServer();
  other = await startEchoServer();
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: BASE_CHROMIUM_ARGS });
  mappedBrowser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [...BASE_CHROMIUM_ARGS, "--host-resolver-rules=MAP * 127.0.0.1"],
  });
});
afterAll(async () => {
  await browser?.close();
  await mappedBrowser?.close();
  await echo?.close();
  await other?.close();
});

async function contextWith(b: Browser, header: string, target: string): Promise<BrowserContext> {
  const context = await b.newContext();
  await context.addCookies(toPlaywrightCookies(parseCookieInput({ header }), target));
  return context;
}

describe("cookies in real Chromium (127.0.0.1 vs localhost)", () => {
  it("reach the target, follow a same-host redirect, and are not sent to localhost", async () => {
    const target = `http://127.0.0.1:${echo.port}/`;
    const context = await contextWith(browser, "sid=abc; token=a=b==", target);
    const page = await context.newPage();
    echo.seen.length = 0;

    expect(await cookieAt(page, `${target}redirect?to=/echo`)).toBe("sid=abc; token=a=b==");
    // Both hops carried the cookies.
    const hops = echo.seen.filter((s) => s.path !== "/favicon.ico");
    expect(hops.map((s) => [s.path, s.cookie])).toEqual([
      ["/redirect", "sid=abc; token=a=b=="],
      ["/echo", "sid=abc; token=a=b=="],
    ]);

    // localhost is a different host (and site) from 127.0.0.1: nothing is sent,
    // whether navigated to directly or reached by a redirect.
    expect(await cookieAt(page, `http://localhost:${echo.port}/echo`)).toBe("");
    expect(
      await cookieAt(page, `${target}redirect?to=${encodeURIComponent(`http://localhost:${echo.port}/echo`)}`),
    ).toBe("");
    await context.close();
  });

  it("cookies are not port-scoped: another port on the same IP gets them (RFC 6265, documented)", async () => {
    const context = await contextWith(browser, "sid=abc", `http://127.0.0.1:${echo.port}/`);
    const page = await context.newPage();
    expect(await cookieAt(page, `http://127.0.0.1:${other.port}/echo`)).toBe("sid=abc");
    expect(await cookieAt(page, `http://localhost:${other.port}/echo`)).toBe("");
    await context.close();
  });
});

describe("Public Suffix List scoping in real Chromium (names mapped to 127.0.0.1)", () => {
  it("registrable-domain cookies reach sibling hosts of the same site only (co.uk)", async () => {
    const context = await contextWith(mappedBrowser, "sid=abc", `http://shop.example.co.uk:${echo.port}/`);
    const page = await context.newPage();
    expect(await cookieAt(page, `http://shop.example.co.uk:${echo.port}/echo`)).toBe("sid=abc");
    expect(await cookieAt(page, `http://www.example.co.uk:${echo.port}/echo`)).toBe("sid=abc");
    expect(await cookieAt(page, `http://other.co.uk:${echo.port}/echo`)).toBe("");
    expect(await cookieAt(page, `http://example.com:${echo.port}/echo`)).toBe("");
    await context.close();
  });

  it("a.github.io cookies do not reach b.github.io (private PSL section)", async () => {
    const context = await contextWith(mappedBrowser, "sid=abc", `http://a.github.io:${echo.port}/`);
    const page = await context.newPage();
    expect(await cookieAt(page, `http://x.a.github.io:${echo.port}/echo`)).toBe("sid=abc");
    expect(await cookieAt(page, `http://b.github.io:${echo.port}/echo`)).toBe("");
    expect(await cookieAt(page, `http://github.io:${echo.port}/echo`)).toBe("");
    await context.close();
  });

  it("foreign-domain cookies from a DevTools paste are dropped and never sent anywhere", async () => {
    const table = [
      ["Name", "Value", "Domain", "Path"].join("\t"),
      ["mine", "1", ".example.co.uk", "/"].join("\t"),
      ["theirs", "2", ".evil.co.uk", "/"].join("\t"),
      ["suffix", "3", ".co.uk", "/"].join("\t"),
    ].join("\n");
    const context = await contextWith(mappedBrowser, table, `http://shop.example.co.uk:${echo.port}/`);
    expect((await context.cookies()).map((c) => [c.name, c.domain])).toEqual([["mine", ".example.co.uk"]]);
    const page = await context.newPage();
    expect(await cookieAt(page, `http://shop.example.co.uk:${echo.port}/echo`)).toBe("mine=1");
    expect(await cookieAt(page, `http://www.evil.co.uk:${echo.port}/echo`)).toBe("");
    await context.close();
  });
});
