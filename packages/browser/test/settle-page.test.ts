// The settle after `load` (openPage → settlePage): script-rendered content that arrives after
// `load` is waited for; streams, endless requests and endless DOM changes only hold it to its cap;
// a page that navigates or closes during it never makes it throw.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { chromium, type Browser, type BrowserContext } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BASE_CHROMIUM_ARGS } from "../src/chromium-args.ts";
import { capturePage, openPage } from "../src/open-page.ts";
import { settlePage, trackRequests } from "../src/settle-page.ts";

const html = (title: string, body: string, script = ""): string =>
  `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>${body}` +
  (script ? `<script>${script}</script>` : "") +
  `</body></html>`;

// Appends a paragraph with the given text to #out.
const RENDER = `const render = (text) => { const p = document.createElement("p"); p.textContent = text; document.getElementById("out").append(p); };`;

const PAGES: Record<string, string> = {
  "/static": html("Static", `<h1>A static page</h1><p>Everything is here at load.</p>`),
  // Data fetched 200 ms after load, then rendered.
  "/fetch-later": html(
    "Fetch later",
    `<div id="out"></div>`,
    `${RENDER}
window.addEventListener("load", () => setTimeout(async () => {
  const res = await fetch("/data?text=Forecast%20for%20Tuesday&ms=50");
  render(await res.text());
}, 200));`,
  ),
  // fetch → render → fetch → render, each answer a little slow.
  "/chain": html(
    "Chain",
    `<div id="out"></div>`,
    `${RENDER}
window.addEventListener("load", async () => {
  render(await (await fetch("/data?text=First%20chapter%20loaded&ms=120")).text());
  render(await (await fetch("/data?text=Second%20chapter%20loaded&ms=120")).text());
});`,
  ),
  // A request started during parse, answered long after load: longer than the quiet window.
  "/slow-at-load": html(
    "Slow at load",
    `<div id="out"></div>`,
    `${RENDER}
fetch("/data?text=Late%20inventory%20figures&ms=700").then((r) => r.text()).then(render);`,
  ),
  // A response that never ends, held open by the page.
  "/endless-request": html(
    "Endless request",
    `<h1>Shell of the endless page</h1><div id="out"></div>`,
    `${RENDER}
window.addEventListener("load", () => { fetch("/hang").then((r) => { render("Headers arrived"); return r.text(); }); });`,
  ),
  // An EventSource stream: open for good, with one event rendered.
  "/event-stream": html(
    "Event stream",
    `<h1>Live ticker</h1><div id="out"></div>`,
    `${RENDER}
new EventSource("/events").onmessage = (e) => render("Ticker says " + e.data);`,
  ),
  // The DOM changes every 20 ms, forever.
  "/mutating": html(
    "Mutating",
    `<h1>Busy clock</h1><p id="clock">0</p>`,
    `let n = 0; setInterval(() => { document.getElementById("clock").textContent = String(++n); }, 20);`,
  ),
  // Navigates itself after load.
  "/navigates": html(
    "Leaving",
    `<h1>About to leave</h1>`,
    `window.addEventListener("load", () => setTimeout(() => { location.href = "/landing"; }, 50));`,
  ),
  "/landing": html("Landing", `<h1>Landed on the destination</h1>`),
  // Spins forever after load: the page never answers an evaluation again.
  "/spins": html(
    "Spins",
    `<h1>Spinning page</h1>`,
    `window.addEventListener("load", () => setTimeout(() => { for (;;) {} }, 0));`,
  ),
  // Rendered and retitled 200 ms after load from fetched data (the snapshot must hold both).
  "/later": html(
    "Later",
    `<div id="out"></div>`,
    `${RENDER}
window.addEventListener("load", () => setTimeout(async () => {
  render(await (await fetch("/data?text=Forecast%20for%20Tuesday")).text());
  document.title = "Later, rendered";
}, 200));`,
  ),
  // Replaces what the snapshot's in-page read uses; the page must still be read the usual way.
  "/no-serializer": html(
    "Hostile",
    `<p>Still readable</p>`,
    `window.XMLSerializer = function () { throw new Error("no serializer here"); };`,
  ),
  // Snapshots its globals before anything of ours runs, to show the settle adds none.
  "/globals": html(
    "Globals",
    `<div id="out"></div>`,
    `${RENDER}
const before = new Set(Object.getOwnPropertyNames(window));
window.addEventListener("load", () => setTimeout(() => render("rendered"), 50));
window.addedGlobals = () => Object.getOwnPropertyNames(window).filter((k) => !before.has(k) && k !== "addedGlobals");`,
  ),
};

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://settle.test");
  const page = PAGES[url.pathname];
  if (page) {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(page);
    return;
  }
  if (url.pathname === "/data") {
    const text = url.searchParams.get("text") ?? "";
    setTimeout(
      () => {
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
        res.end(text);
      },
      Number(url.searchParams.get("ms") ?? "0"),
    );
    return;
  }
  if (url.pathname === "/hang") {
    // Headers and a first chunk, then nothing: the body never ends.
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.write("partial ");
    return;
  }
  if (url.pathname === "/events") {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.write("data: sunny\n\n");
    return;
  }
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found");
}

let server: Server;
let origin: string;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  server = createServer(handle);
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

async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext({ acceptDownloads: false });
  contexts.push(context);
  return context;
}

/** openPage then the page's rendered HTML, as the worker reads it; logs the time openPage took. */
async function open(path: string, settleMs?: number) {
  const context = await newContext();
  const t0 = performance.now();
  const opened = await openPage(context, {
    url: `${origin}${path}`,
    timeoutMs: 15_000,
    ...(settleMs === undefined ? {} : { settleMs }),
  });
  console.info(`openPage ${path}: ${Math.round(performance.now() - t0)} ms`);
  const captured = await capturePage(opened.page, { timeoutMs: 10_000 });
  return { ...opened, ...captured, context };
}

describe("openPage settle", () => {
  it("returns a static page with its content", async () => {
    const r = await open("/static");
    expect(r.loaded).toBe(true);
    expect(r.response?.status()).toBe(200);
    expect(r.html).toContain("Everything is here at load.");
  });

  it("waits for data a script fetches 200 ms after load and renders", async () => {
    const r = await open("/fetch-later");
    expect(r.html).toContain("Forecast for Tuesday");
  });

  it("follows a chain of fetches after load (fetch → render → fetch → render)", async () => {
    const r = await open("/chain");
    expect(r.html).toContain("First chapter loaded");
    expect(r.html).toContain("Second chapter loaded");
  });

  it("waits for a request the page started during load and that ends after it", async () => {
    const r = await open("/slow-at-load");
    expect(r.html).toContain("Late inventory figures");
  });

  it("returns a page holding a request that never ends, capped by settleMs", async () => {
    const r = await open("/endless-request", 1500);
    expect(r.loaded).toBe(true);
    expect(r.html).toContain("Shell of the endless page");
    expect(r.html).toContain("Headers arrived");
  });

  it("returns a page with an open EventSource, with what the stream rendered", async () => {
    const r = await open("/event-stream");
    expect(r.html).toContain("Live ticker");
    expect(r.html).toContain("Ticker says sunny");
  });

  it("returns a page whose DOM keeps changing, capped by settleMs", async () => {
    const r = await open("/mutating", 1000);
    expect(r.html).toContain("Busy clock");
    expect(r.title).toBe("Mutating");
  });

  it("does not throw when the page navigates itself during the settle, and settles the destination", async () => {
    const r = await open("/navigates");
    expect(r.loaded).toBe(true);
    expect(r.finalUrl).toBe(`${origin}/landing`);
    expect(r.html).toContain("Landed on the destination");
  });

  it("returns a page whose script spins forever after load, capped by settleMs", async () => {
    const context = await newContext();
    const { page, loaded } = await openPage(context, { url: `${origin}/spins`, timeoutMs: 15_000, settleMs: 1000 });
    expect(loaded).toBe(true);
    expect(page.isClosed()).toBe(false);
  });

  it("leaves no global behind in the page", async () => {
    const r = await open("/globals");
    expect(r.html).toContain("rendered");
    const added = await r.page.evaluate(() => (window as unknown as { addedGlobals(): string[] }).addedGlobals());
    expect(added).toEqual([]);
  });
});

describe("settlePage", () => {
  async function loaded(path: string) {
    const context = await newContext();
    const page = await context.newPage();
    const tracker = trackRequests(page);
    await page.goto(`${origin}${path}`, { waitUntil: "load" });
    return { context, page, tracker };
  }

  it("reports a complete page as quiet", async () => {
    const { page, tracker } = await loaded("/static");
    expect(await settlePage(page, { tracker })).toBe("quiet");
    tracker.dispose();
  });

  it("reports a page waiting on a request that never ends as capped", async () => {
    const { page, tracker } = await loaded("/endless-request");
    expect(await settlePage(page, { tracker, maxMs: 800 })).toBe("capped");
    expect(tracker.inFlight()).toBeGreaterThan(0);
    tracker.dispose();
  });

  it("does not wait for an EventSource stream, which never ends by design", async () => {
    const { page, tracker } = await loaded("/event-stream");
    expect(await settlePage(page, { tracker, maxMs: 10_000 })).toBe("quiet");
    expect(await page.textContent("#out")).toContain("Ticker says sunny");
    tracker.dispose();
  });

  it("reports a page whose DOM keeps changing as capped", async () => {
    const { page, tracker } = await loaded("/mutating");
    expect(await settlePage(page, { tracker, maxMs: 800 })).toBe("capped");
    tracker.dispose();
  });

  it("skips the settle with maxMs 0", async () => {
    const { page } = await loaded("/mutating");
    expect(await settlePage(page, { maxMs: 0 })).toBe("capped");
  });

  it("ends without throwing when the page closes during the settle", async () => {
    const { page, tracker } = await loaded("/mutating");
    const settling = settlePage(page, { tracker, maxMs: 30_000 });
    await page.close();
    expect(await settling).toBe("closed");
    tracker.dispose();
  });

  it("ends without throwing when the context closes during the settle", async () => {
    const { context, page, tracker } = await loaded("/endless-request");
    const settling = settlePage(page, { tracker, maxMs: 30_000 });
    await context.close();
    expect(await settling).toBe("closed");
    tracker.dispose();
  });

  it("ends without throwing on a page that is already closed", async () => {
    const { page } = await loaded("/static");
    await page.close();
    expect(await settlePage(page)).toBe("closed");
  });
});

// openPage's snapshot: the content read in the same evaluation that found the page quiet, so a
// caller that reads the page right away skips one read. It must be exactly what capturePage reads,
// and absent whenever the page did not settle quiet or the page broke what the read uses.
describe("openPage snapshot", () => {
  async function openWith(path: string, opts: { snapshot: boolean; settleMs?: number }) {
    const context = await newContext();
    return openPage(context, { url: `${origin}${path}`, timeoutMs: 15_000, ...opts });
  }

  it("holds what capturePage reads once the page settled, script-rendered content included", async () => {
    const { page, snapshot } = await openWith("/later", { snapshot: true });
    expect(snapshot).toBeDefined();
    expect(snapshot?.html).toContain("Forecast for Tuesday");
    expect(snapshot?.title).toBe("Later, rendered");
    const captured = await capturePage(page);
    expect(snapshot).toEqual(captured);
    expect(snapshot?.html.startsWith("<!DOCTYPE html>")).toBe(true);
  });

  it("is absent when not asked for", async () => {
    const opened = await openWith("/later", { snapshot: false });
    expect(opened.snapshot).toBeUndefined();
    expect((await capturePage(opened.page)).html).toContain("Forecast for Tuesday");
  });

  it("is absent when the page never went quiet (the settle was capped)", async () => {
    const { page, loaded, snapshot } = await openWith("/mutating", { snapshot: true, settleMs: 700 });
    expect(loaded).toBe(true);
    expect(snapshot).toBeUndefined();
    expect((await capturePage(page)).title).toBe("Mutating");
  });

  it("is absent when the page replaced what the read uses, and the page is still read normally", async () => {
    const { page, snapshot } = await openWith("/no-serializer", { snapshot: true });
    expect(snapshot).toBeUndefined();
    const captured = await capturePage(page);
    expect(captured.html).toContain("Still readable");
    expect(captured.title).toBe("Hostile");
  });
});
