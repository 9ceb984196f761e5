// openPage's snapshot: the content read in the same evaluation that found the page quiet, so a
// caller that reads the page right away skips one read. It must be exactly what capturePage reads,
// and absent whenever the page did not settle quiet or the page broke what the read uses.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { chromium, type Browser, type BrowserContext } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BASE_CHROMIUM_ARGS } from "../src/chromium-args.ts";
import { capturePage, openPage } from "../src/open-page.ts";

const PAGES: Record<string, string> = {
  // Rendered 200 ms after load from fetched data: the snapshot must hold it.
  "/later":
    `<!DOCTYPE html><html><head><title>Later</title></head><body><div id="out"></div><script>` +
    `window.addEventListener("load", () => setTimeout(async () => {` +
    `const p = document.createElement("p"); p.textContent = await (await fetch("/data")).text();` +
    `document.getElementById("out").append(p); document.title = "Later, rendered"; }, 200));` +
    `</script></body></html>`,
  // Changes for ever: the settle is capped, never quiet.
  "/restless":
    `<!DOCTYPE html><html><head><title>Restless</title></head><body><p id="n">0</p><script>` +
    `let n = 0; setInterval(() => { document.getElementById("n").textContent = String(++n); }, 40);` +
    `</script></body></html>`,
  // Replaces what the in-page read uses: no snapshot, and the page is still read the usual way.
  "/no-serializer":
    `<!DOCTYPE html><html><head><title>Hostile</title></head><body><p>Still readable</p><script>` +
    `window.XMLSerializer = function () { throw new Error("no serializer here"); };` +
    `</script></body></html>`,
};

let server: Server;
let origin = "";
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/data") {
      res.writeHead(200, { "content-type": "text/plain" }).end("Forecast for Tuesday");
      return;
    }
    const page = PAGES[req.url ?? ""];
    if (!page) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: BASE_CHROMIUM_ARGS });
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => undefined)));
});

afterAll(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

async function open(path: string, opts: { snapshot: boolean; settleMs?: number }) {
  const context = await browser.newContext({ acceptDownloads: false });
  contexts.push(context);
  return openPage(context, { url: `${origin}${path}`, timeoutMs: 15_000, ...opts });
}

describe("openPage snapshot", () => {
  it("holds what capturePage reads once the page settled, script-rendered content included", async () => {
    const { page, snapshot } = await open("/later", { snapshot: true });
    expect(snapshot).toBeDefined();
    expect(snapshot?.html).toContain("Forecast for Tuesday");
    expect(snapshot?.title).toBe("Later, rendered");
    const captured = await capturePage(page);
    expect(snapshot).toEqual(captured);
    expect(snapshot?.html.startsWith("<!DOCTYPE html>")).toBe(true);
  });

  it("is absent when not asked for", async () => {
    const opened = await open("/later", { snapshot: false });
    expect(opened.snapshot).toBeUndefined();
    expect((await capturePage(opened.page)).html).toContain("Forecast for Tuesday");
  });

  it("is absent when the page never went quiet (the settle was capped)", async () => {
    const { page, loaded, snapshot } = await open("/restless", { snapshot: true, settleMs: 700 });
    expect(loaded).toBe(true);
    expect(snapshot).toBeUndefined();
    expect((await capturePage(page)).title).toBe("Restless");
  });

  it("is absent when the page replaced what the read uses, and the page is still read normally", async () => {
    const { page, snapshot } = await open("/no-serializer", { snapshot: true });
    expect(snapshot).toBeUndefined();
    const captured = await capturePage(page);
    expect(captured.html).toContain("Still readable");
    expect(captured.title).toBe("Hostile");
  });
});
