// The settle after `load` (openPage → settlePage): script-rendered content that arrives after
// `load` is waited for; streams, endless requests and endless DOM changes only hold it to its cap;
// a page that navigates or closes during it never makes it throw.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { chromium, type Browser, type BrowserContext } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BASE_CHROMIUM_ARGS } from "../src/chromium-args.ts";
import { capturePage, openPage } from "../src/open-page.ts";
import { settlePage, trackRequests, type QuietSnapshot } from "../src/settle-page.ts";
import { TIMERS_KEY, watchTimers } from "../src/watch-timers.ts";

const html = (title: string, body: string, script = ""): string =>
  `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>${body}` +
  (script ? `<script>${script}</script>` : "") +
  `</body></html>`;

// Appends a paragraph with the given text to #out.
const RENDER = `const render = (text) => { const p = document.createElement("p"); p.textContent = text; document.getElementById("out").append(p); };`;

// After load, appends "Streamed item 1" to "Streamed item 12" to the list `listExpr` finds, 10 ms
// apart, scheduled by messages (as React's scheduler does): no timer, no request.
const STREAM = (listExpr: string): string => `window.addEventListener("load", () => {
  const list = ${listExpr};
  const channel = new MessageChannel();
  let n = 0, next = performance.now() + 10;
  channel.port1.onmessage = () => {
    if (performance.now() >= next) {
      const li = document.createElement("li"); li.textContent = "Streamed item " + ++n; list.append(li);
      next = performance.now() + 10;
    }
    if (n < 12) channel.port2.postMessage(0);
  };
  channel.port2.postMessage(0);
});`;

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
  // Web components: the content is in shadow roots (one nested, one slot filled, one empty slot with
  // fallback content, a light child no slot takes, and a closed root no script can read).
  "/components": html(
    "Components",
    `<h1>Catalogue</h1><product-card><span slot="name">Shadow Widget</span><em>Unassigned light child</em></product-card><locked-box></locked-box>`,
    `customElements.define("price-tag", class extends HTMLElement { constructor() { super(); this.attachShadow({ mode: "open" }).innerHTML = "<strong>Price: $12.50</strong>"; } });
customElements.define("product-card", class extends HTMLElement { constructor() { super(); this.attachShadow({ mode: "open" }).innerHTML = '<style>h2 { color: red }</style><h2><slot name="name">No name</slot></h2><p>Rendered inside a shadow root.</p><price-tag></price-tag><p><slot name="missing">Fallback of an empty slot</slot></p>'; } });
customElements.define("locked-box", class extends HTMLElement { constructor() { super(); this.attachShadow({ mode: "closed" }).innerHTML = "<p>Closed shadow secret</p>"; } });`,
  ),
  // A component that renders its items into its shadow root one by one, 10 ms apart, after load,
  // scheduled by messages (as React's scheduler does): no timer, no request, no change in the
  // document's own subtree; only the shadow root changes.
  "/shadow-stream": html(
    "Shadow stream",
    `<h1>Feed</h1><live-feed></live-feed>`,
    `customElements.define("live-feed", class extends HTMLElement { constructor() { super(); this.attachShadow({ mode: "open" }).innerHTML = "<ul></ul>"; } });
${STREAM('document.querySelector("live-feed").shadowRoot.querySelector("ul")')}`,
  ),
  // The same stream into the document itself, on a page whose script replaced Array.from with one
  // that throws: the document's changes still count.
  "/stream-no-array-from": html(
    "Stream",
    `<h1>Feed</h1><ul id="list"></ul>`,
    `Array.from = () => { throw new Error("no Array.from here"); };
${STREAM('document.getElementById("list")')}`,
  ),
  // Rendered by a timer 200 ms after load: no request, nothing but the timer announces it.
  "/timer-render": html(
    "Timer render",
    `<div id="out"></div>`,
    `${RENDER}
window.addEventListener("load", () => setTimeout(() => render("Rendered by a timer"), 200));`,
  ),
  // A timer that does nothing visible at 60 ms but defers the render by another 150 ms.
  "/timer-deferred": html(
    "Timer deferred",
    `<div id="out"></div>`,
    `${RENDER}
window.addEventListener("load", () => setTimeout(() => setTimeout(() => render("Rendered after two timers"), 150), 60));`,
  ),
  // A render 100 ms after load that schedules the next one 100 ms later, five renders in all: each
  // gap is longer than the short quiet of the timer-aware rule, and only the timers bridge it.
  "/timer-chain": html(
    "Timer chain",
    `<div id="out"></div>`,
    `${RENDER}
const step = (n) => { render("Timed render " + n); if (n < 5) setTimeout(() => step(n + 1), 100); };
window.addEventListener("load", () => setTimeout(() => step(1), 100));`,
  ),
  // Timers whose callbacks defer the render to the next animation frame, five in a chain: once a
  // timer has run, none is pending until the frame renders and schedules the next.
  "/timer-frame": html(
    "Timer frame",
    `<div id="out"></div>`,
    `${RENDER}
const next = (n) => setTimeout(() => requestAnimationFrame(() => step(n)), 100);
const step = (n) => { render("Frame render " + n); if (n < 5) next(n + 1); };
window.addEventListener("load", () => next(1));`,
  ),
  // Timers whose callbacks hand the render to an interval (not tracked), which renders on its first
  // tick, five in a chain: right after a timer has run, nothing is pending, yet a render is coming.
  "/timer-interval": html(
    "Timer interval",
    `<div id="out"></div>`,
    `${RENDER}
const next = (n) => setTimeout(() => { const id = setInterval(() => { clearInterval(id); step(n); }, 10); }, 100);
const step = (n) => { render("Interval render " + n); if (n < 5) next(n + 1); };
window.addEventListener("load", () => next(1));`,
  ),
  // A no-op timer rescheduled every 100 ms, forever: always one pending.
  "/timer-forever": html(
    "Timer forever",
    `<h1>Polls forever</h1>`,
    `const tick = () => setTimeout(tick, 100); tick();`,
  ),
  // A plain page the timer-API probe runs in.
  "/probe": html("Probe", `<h1>Probe</h1>`),
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

  it("waits for content a component renders into its shadow root after load, without timers or requests", async () => {
    const r = await open("/shadow-stream");
    for (let n = 1; n <= 12; n++) expect(r.html).toContain(`Streamed item ${n}`);
  });

  it("still counts the document's changes on a page that broke what the shadow-root watch uses", async () => {
    const r = await open("/stream-no-array-from");
    for (let n = 1; n <= 12; n++) expect(r.html).toContain(`Streamed item ${n}`);
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

  it("is absent on a page of web components, which capturePage reads with their open shadow roots composed in", async () => {
    const { page, snapshot } = await openWith("/components", { snapshot: true });
    expect(snapshot).toBeUndefined();
    const { html, title } = await capturePage(page);
    expect(title).toBe("Components");
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    // As rendered: the slotted name in the card's heading, then the card's own text and the nested component.
    expect(html).toMatch(
      /<h1>Catalogue<\/h1><product-card><style>[^<]*<\/style><h2><span slot="name">Shadow Widget<\/span><\/h2><p>Rendered inside a shadow root.<\/p><price-tag><strong>Price: \$12.50<\/strong><\/price-tag><p>Fallback of an empty slot<\/p><\/product-card>/,
    );
    // Not rendered, or not readable: a slot's fallback when filled, a light child no slot takes, a closed root.
    const rendered = html.replace(/<script>[\s\S]*?<\/script>/g, "");
    for (const hidden of ["No name", "Unassigned light child", "Closed shadow secret"]) {
      expect(rendered).not.toContain(hidden);
    }
    // The scripts stay, as page.content() keeps them.
    expect(html).toContain("customElements.define");
  });

  it("is absent when the page replaced what the read uses, and the page is still read normally", async () => {
    const { page, snapshot } = await openWith("/no-serializer", { snapshot: true });
    expect(snapshot).toBeUndefined();
    const captured = await capturePage(page);
    expect(captured.html).toContain("Still readable");
    expect(captured.title).toBe("Hostile");
  });
});

// Exercises the page's timer API and reports what it saw: run in a page with the timer watch and in
// one without, the answers must be the same. Delays are far apart so the order is deterministic.
const TIMER_PROBE = `(async () => {
  const keys = Object.keys(window);
  const out = {
    keys,
    names: [setTimeout.name, clearTimeout.name, clearInterval.name, setInterval.name],
    lengths: [setTimeout.length, clearTimeout.length, clearInterval.length],
    nativeText: [setTimeout, clearTimeout, clearInterval].map((f) => String(f).includes("[native code]")),
    descriptor: JSON.stringify(Object.getOwnPropertyDescriptor(window, "setTimeout"), ["writable", "enumerable", "configurable"]),
    hasPrototype: "prototype" in setTimeout,
    sameFunction: window.setTimeout === setTimeout && globalThis.setTimeout === setTimeout,
  };
  const attempt = (fn) => { try { return ["ok", typeof fn()]; } catch (e) { return [e.constructor.name, e.message]; } };
  out.construct = attempt(() => new setTimeout(() => {}, 0));
  out.wrongThis = attempt(() => setTimeout.call({}, () => {}, 0));
  out.symbolDelay = attempt(() => setTimeout(() => {}, Symbol("delay")));
  out.viaCall = attempt(() => setTimeout.call(undefined, () => {}, 0));
  out.viaApply = attempt(() => setTimeout.apply(window, [() => {}, 0]));
  const ids = [setTimeout(() => {}, 0), setTimeout(() => {}, 0), setTimeout.bind(window)(() => {}, 0)];
  out.ids = ids.every((id) => Number.isInteger(id) && id > 0) && ids[1] === ids[0] + 1 && ids[2] === ids[1] + 1;
  const fired = [];
  const errors = [];
  window.addEventListener("error", (e) => {
    errors.push(e.error instanceof Error ? e.error.message : String(e.message));
    e.preventDefault();
  });
  const a = setTimeout(() => fired.push("cleared"), 10);
  clearTimeout(a);
  const b = setTimeout(() => fired.push("cleared by clearInterval"), 10);
  clearInterval(b);
  const c = setTimeout(() => fired.push("cleared by a string id"), 10);
  clearTimeout(String(c));
  out.clearReturns = [clearTimeout(123456), clearInterval(123457)];
  setTimeout(function (x, y) { fired.push(["args", x, y, this === window, arguments.length]); }, 10, "one", 2);
  let valueOfCalls = 0;
  setTimeout(() => fired.push("object delay"), { valueOf() { valueOfCalls++; return 25; } });
  setTimeout(() => fired.push("string delay"), "40");
  setTimeout(() => fired.push("negative delay"), -5);
  setTimeout(() => { throw new Error("boom from a timer"); }, 55);
  setTimeout(() => fired.push("after the throw"), 70);
  setTimeout("window.__probeString = 'string callback ran'", 0);
  const interval = setInterval(() => { fired.push("interval"); clearInterval(interval); }, 85);
  await new Promise((resolve) => setTimeout(resolve, 150));
  out.fired = fired;
  out.errors = errors;
  out.valueOfCalls = valueOfCalls;
  out.stringCallback = window.__probeString;
  return out;
})()`;

describe("timer-aware settle", () => {
  /** A page with the timer watch (or without), loaded, with a tracker attached before the navigation. */
  async function loaded(path: string, watched: boolean) {
    const context = await newContext();
    const page = await context.newPage();
    if (watched) await watchTimers(page);
    const tracker = trackRequests(page);
    await page.goto(`${origin}${path}`, { waitUntil: "load" });
    return { context, page, tracker };
  }

  async function settleWithSnapshot(path: string, watched: boolean) {
    const { page, tracker } = await loaded(path, watched);
    let snapshot: QuietSnapshot | undefined;
    const outcome = await settlePage(page, { tracker, maxMs: 10_000, onQuietSnapshot: (s) => (snapshot = s) });
    tracker.dispose();
    return { outcome, snapshot, page };
  }

  it("captures a render a timer schedules 200 ms after load (openPage snapshot)", async () => {
    const context = await newContext();
    const { snapshot } = await openPage(context, { url: `${origin}/timer-render`, timeoutMs: 15_000, snapshot: true });
    expect(snapshot?.html).toContain("Rendered by a timer");
  });

  it("captures a render a timer schedules 200 ms after load (settlePage with watchTimers)", async () => {
    const { outcome, snapshot } = await settleWithSnapshot("/timer-render", true);
    expect(outcome).toBe("quiet");
    expect(snapshot?.html).toContain("Rendered by a timer");
  });

  it("captures a render deferred by a timer that itself changed nothing", async () => {
    const { outcome, snapshot } = await settleWithSnapshot("/timer-deferred", true);
    expect(outcome).toBe("quiet");
    expect(snapshot?.html).toContain("Rendered after two timers");
  });

  it("captures a chain of timed renders (each scheduling the next 100 ms later)", async () => {
    const { outcome, snapshot } = await settleWithSnapshot("/timer-chain", true);
    expect(outcome).toBe("quiet");
    for (let n = 1; n <= 5; n++) expect(snapshot?.html).toContain(`Timed render ${n}`);
  });

  it("captures the whole chain of timed renders through openPage", async () => {
    const context = await newContext();
    const { snapshot } = await openPage(context, { url: `${origin}/timer-chain`, timeoutMs: 15_000, snapshot: true });
    for (let n = 1; n <= 5; n++) expect(snapshot?.html).toContain(`Timed render ${n}`);
  });

  it("captures renders timers defer to the next animation frame", async () => {
    const { outcome, snapshot } = await settleWithSnapshot("/timer-frame", true);
    expect(outcome).toBe("quiet");
    for (let n = 1; n <= 5; n++) expect(snapshot?.html).toContain(`Frame render ${n}`);
  });

  it("captures renders timers hand to an interval (a timer that has just run counts as activity)", async () => {
    const { outcome, snapshot } = await settleWithSnapshot("/timer-interval", true);
    expect(outcome).toBe("quiet");
    for (let n = 1; n <= 5; n++) expect(snapshot?.html).toContain(`Interval render ${n}`);
  });

  it("settles quiet a page that reschedules a no-op timer forever", async () => {
    const { outcome, snapshot } = await settleWithSnapshot("/timer-forever", true);
    expect(outcome).toBe("quiet");
    expect(snapshot?.html).toContain("Polls forever");
  });

  it("still captures the 200 ms timed render without the timer watch", async () => {
    const { outcome, snapshot } = await settleWithSnapshot("/timer-render", false);
    expect(outcome).toBe("quiet");
    expect(snapshot?.html).toContain("Rendered by a timer");
  });

  it("still settles a static page quiet, with and without the timer watch", async () => {
    for (const watched of [true, false]) {
      const { outcome, snapshot } = await settleWithSnapshot("/static", watched);
      expect(outcome).toBe("quiet");
      expect(snapshot?.html).toContain("Everything is here at load.");
    }
  });

  it("leaves the page's timer API behaving as the native one", async () => {
    const context = await newContext();
    const { page: watchedPage } = await openPage(context, { url: `${origin}/probe`, timeoutMs: 15_000 });
    const { page: plainPage } = await loaded("/probe", false);
    expect(await watchedPage.evaluate((key) => key in window, TIMERS_KEY)).toBe(true);
    expect(await plainPage.evaluate((key) => key in window, TIMERS_KEY)).toBe(false);
    const watched = (await watchedPage.evaluate(TIMER_PROBE)) as Record<string, unknown>;
    const plain = (await plainPage.evaluate(TIMER_PROBE)) as Record<string, unknown>;
    expect(watched).toEqual(plain);
    // And what the native API does, spelled out.
    expect(watched.names).toEqual(["setTimeout", "clearTimeout", "clearInterval", "setInterval"]);
    expect(watched.keys).not.toContain(TIMERS_KEY);
    expect(watched.ids).toBe(true);
    expect(watched.valueOfCalls).toBe(1);
    expect(watched.fired).toEqual([
      "negative delay",
      ["args", "one", 2, true, 2],
      "object delay",
      "string delay",
      "after the throw",
      "interval",
    ]);
    expect(watched.errors).toEqual(["boom from a timer"]);
    expect(watched.stringCallback).toBe("string callback ran");
  });

  it("counts the page's pending timeouts due within a window, and not ours", async () => {
    const { page } = await loaded("/probe", true);
    const counts = await page.evaluate(async (key) => {
      type Reader = { pending(withinMs: number): number; setTimeout(fn: () => void, ms: number): number };
      const timers = (window as unknown as Record<string, Reader>)[key] as Reader;
      const seen: number[] = [];
      const soon = setTimeout(() => undefined, 100);
      const later = setTimeout(() => undefined, 5000);
      const interval = setInterval(() => undefined, 50);
      setTimeout("void 0", 100);
      timers.setTimeout(() => undefined, 100);
      seen.push(timers.pending(250), timers.pending(10_000));
      clearTimeout(soon);
      seen.push(timers.pending(250), timers.pending(10_000));
      clearInterval(later);
      clearInterval(interval);
      seen.push(timers.pending(10_000));
      setTimeout(() => undefined, 20);
      seen.push(timers.pending(250));
      await new Promise((resolve) => setTimeout(resolve, 60));
      seen.push(timers.pending(250));
      return seen;
    }, TIMERS_KEY);
    expect(counts).toEqual([1, 2, 0, 1, 0, 1, 0]);
  });
});
