import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scrapeAndWait, type PollBody } from "./helpers/http.ts";
import { startModelStack, startTestStack, useStarted, type ModelStack, type TestStack } from "./helpers/stack.ts";
import { page, prose, servePages, type PageServer } from "./helpers/prose-page.ts";

/*
 * Gaps found by a mutation audit of the browser / extraction side (judge-page, screenshots, the
 * fast path). Each test asserts what a caller sees through the real gateway, worker and Chromium.
 */

const PROSE = prose(8);

/** A bot-check interstitial served with 200 (Imperva's "Pardon Our Interruption"). */
const BOT_CHALLENGE = page(
  "Pardon Our Interruption",
  `<div class="container"><h1>Pardon Our Interruption</h1><p>As you were browsing something about your browser made us think you were a bot. There are a few reasons this might happen:</p><ul><li>You're a power user moving through this website with super-human speed.</li><li>You've disabled cookies in your web browser.</li><li>A third-party browser plugin, such as Ghostery or NoScript, is preventing JavaScript from running.</li></ul><p>To regain access, please make sure that cookies and JavaScript are enabled before reloading the page.</p></div>`,
);

const ROUTES: Record<string, () => string> = {
  "/article": () => page("Harbour budget approved", `<main><h1>Harbour budget approved</h1>${PROSE}</main>`),
  "/challenge": () => BOT_CHALLENGE,
  // Full-page screenshots of these two differ in height: 800 px (the viewport) and 3000 px.
  "/short": () => page("Short page", `<main style="margin:0"><h1>Short page</h1>${PROSE.slice(0, 600)}</main>`),
  "/tall": () =>
    page("Tall page", `<main style="margin:0;height:3000px;overflow:hidden"><h1>Tall page</h1>${PROSE}</main>`),
};

let server: PageServer;
let origin = "";
let stack: TestStack;
let key: string;

beforeAll(async () => {
  server = await servePages((u, req) => {
    const path = u.pathname;
    // A bot wall that lets real browsers through: Chromium's navigation headers pass, a plain HTTP client does not.
    if (path === "/browser-only") {
      const browser = req.headers["sec-fetch-mode"] !== undefined || req.headers["upgrade-insecure-requests"] === "1";
      return browser ? ROUTES["/article"]!() : BOT_CHALLENGE;
    }
    if (path === "/echo-cookie") {
      const cookie = (req.headers.cookie ?? "none").replace(/[<>&]/g, "");
      return page("Cookie echo", `<main><h1>Cookie echo</h1><p>Cookie header: ${cookie}</p>${PROSE}</main>`);
    }
    // Two listing pages whose "Next" links form a ring: page 2's "Next" leads back to page 1.
    if (path === "/ring") {
      const n = u.searchParams.get("p") === "2" ? 2 : 1;
      const items = [1, 2]
        .map((i) => `<li class="story"><h2>Ring story ${n}.${i}</h2><p>${PROSE.slice(0, 240)}</p></li>`)
        .join("");
      const next = `<a class="next" href="/ring?p=${n === 1 ? 2 : 1}">Next page</a>`;
      return page(`Ring page ${n}`, `<main><h1>Ring page ${n}</h1><ul>${items}</ul>${next}</main>`);
    }
    return ROUTES[path]?.();
  });
  origin = server.origin;
  stack = await startTestStack();
  key = (await stack.createKey(1000)).key;
});
afterAll(async () => {
  await stack?.stop();
  await server?.close();
});

const url = (path: string) => `${origin}${path}`;

async function scrape(body: Record<string, unknown>): Promise<PollBody> {
  return scrapeAndWait(stack.api, key, body, 90_000);
}

/** Width and height of a stored screenshot, read from its PNG header through the signed link. */
async function pngSize(link: string): Promise<{ width: number; height: number }> {
  const u = new URL(link);
  const res = await fetch(`${stack.origin}${u.pathname}${u.search}`);
  expect(res.status).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  expect(bytes.subarray(1, 4).toString()).toBe("PNG");
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

describe("honest success: a bot-check interstitial is never a successful page", () => {
  for (const scrapeMode of ["default", "fast"] as const) {
    it(`reports it as blocked by a bot challenge (${scrapeMode} mode) and keeps it out of content`, async () => {
      const final = await scrape({ urls: [{ url: url("/challenge") }, { url: url("/article") }], scrapeMode });
      expect(final.status, JSON.stringify(final)).toBe("completed");
      const [challenge, article] = final.result!.data;
      expect(article!.success).toBe(true);
      expect(challenge!.success).toBe(false);
      expect(challenge!.error).toMatch(/^Blocked by a bot challenge/);
      expect(String(final.result!.content)).toContain("Harbour budget approved");
      expect(String(final.result!.content)).not.toContain("Pardon Our Interruption");
    });
  }
});

describe("the HTTP fast path in default mode", () => {
  it("takes a page blocked over plain HTTP to the browser, which gets through", async () => {
    const final = await scrape({ urls: [{ url: url("/browser-only") }] });
    expect(final.status, JSON.stringify(final)).toBe("completed");
    const [only] = final.result!.data;
    expect(only!.success).toBe(true);
    expect(only!.markdownContent).toContain("Harbour budget approved");
  });

  it("keeps scrapeMode fast final: the same page is reported blocked", async () => {
    const final = await scrape({ urls: [{ url: url("/browser-only") }, { url: url("/article") }], scrapeMode: "fast" });
    expect(final.result!.data[0]!.success).toBe(false);
    expect(final.result!.data[0]!.error).toMatch(/^Blocked by a bot challenge/);
  });
});

describe("per-URL cookies", () => {
  for (const scrapeMode of ["default", "fast"] as const) {
    it(`sends each URL its own cookies, not another URL's (${scrapeMode} mode)`, async () => {
      const final = await scrape({
        urls: [
          { url: url("/echo-cookie?n=1"), cookies: [{ name: "who", value: "first-url" }] },
          { url: url("/echo-cookie?n=2"), cookies: [{ name: "who", value: "second-url" }] },
          { url: url("/echo-cookie?n=3") },
        ],
        scrapeMode,
      });
      expect(final.status, JSON.stringify(final)).toBe("completed");
      const [first, second, third] = final.result!.data;
      expect(first!.markdownContent).toContain("Cookie header: who=first-url");
      expect(second!.markdownContent).toContain("Cookie header: who=second-url");
      expect(third!.markdownContent).toContain("Cookie header: none");
    });
  }
});

describe("forEach pagination", () => {
  it("stops when Next leads back to a page already done, without collecting its items twice", async () => {
    const final = await scrape({
      urls: [
        {
          url: url("/ring?p=1"),
          actions: [
            {
              type: "forEach",
              selector: "li.story",
              mode: "inline",
              maxItems: 20,
              pagination: { nextSelector: "a.next", maxPages: 5 },
            },
          ],
        },
      ],
    });
    expect(final.status, JSON.stringify(final)).toBe("completed");
    const md = final.result!.data[0]!.markdownContent;
    for (const story of ["1.1", "1.2", "2.1", "2.2"]) expect(md).toContain(`Ring story ${story}`);
    expect(md).toContain("## Item 4");
    expect(md).not.toContain("## Item 5");
  });
});

describe("forEach itemPrompt when the model fails", () => {
  let ms: ModelStack;
  useStarted(
    () => startModelStack(),
    (started) => (ms = started),
  );

  it("keeps each item's own Markdown rather than a JSON-quoted copy of it", async () => {
    // 400 is not retried: every item's extraction fails at once.
    ms.model.setDefault({ status: 400, error: { message: "scripted failure" } });
    const { key: modelKey } = await ms.stack.createKey(1000);
    const final = await scrapeAndWait(
      ms.stack.api,
      modelKey,
      {
        urls: [
          {
            url: url("/ring?p=1"),
            actions: [
              { type: "forEach", selector: "li.story", mode: "inline", maxItems: 2, itemPrompt: "Give the headline" },
            ],
          },
        ],
      },
      90_000,
    );
    expect(final.status, JSON.stringify(final)).toBe("completed");
    expect(ms.model.chatRequests().length).toBeGreaterThanOrEqual(2);
    const md = final.result!.data[0]!.markdownContent;
    expect(md).toMatch(/## Item 1\n\n(-\s+)?#+ Ring story 1\.1/);
    expect(md).toMatch(/## Item 2\n\n(-\s+)?#+ Ring story 1\.2/);
    expect(md).not.toContain("\\n");
  });
});

describe("screenshots of several URLs", () => {
  it("gives every URL its own screenshot, of its own page", async () => {
    const final = await scrape({
      urls: [{ url: url("/tall") }, { url: url("/short") }],
      fullPageScreenshot: true,
    });
    expect(final.status, JSON.stringify(final)).toBe("completed");
    const [tall, short] = final.result!.data;
    expect(tall!.screenshotUrl).toBeTruthy();
    expect(short!.screenshotUrl).toBeTruthy();
    expect(tall!.screenshotUrl).not.toBe(short!.screenshotUrl);
    expect(final.result!.screenshots).toEqual([tall!.screenshotUrl, short!.screenshotUrl]);
    const tallPng = await pngSize(tall!.screenshotUrl!);
    const shortPng = await pngSize(short!.screenshotUrl!);
    expect(tallPng.height).toBeGreaterThanOrEqual(3000);
    expect(shortPng.height).toBeLessThan(1500);
  });
});
