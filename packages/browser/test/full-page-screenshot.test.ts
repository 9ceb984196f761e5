// Full-page screenshots (full-page-screenshot.ts): the scroll-through that loads lazy content
// stays within its budget and its height, and ends at the top; the capture is clipped to its cap.
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BASE_CHROMIUM_ARGS } from "../src/chromium-args.ts";
import { loadLazyContent, takeFullPageScreenshot } from "../src/full-page-screenshot.ts";

let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: BASE_CHROMIUM_ARGS });
});
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => undefined)));
});
afterAll(async () => {
  await browser?.close();
});

async function pageWith(body: string, script = ""): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  await page.setContent(
    `<!DOCTYPE html><html><head><style>body{margin:0}</style></head><body>${body}` +
      (script ? `<script>${script}</script>` : "") +
      `</body></html>`,
  );
  return page;
}

const heightOf = (png: Buffer) => png.readUInt32BE(20);
const scrollY = (page: Page) => page.evaluate(() => window.scrollY);

describe("loadLazyContent", () => {
  it("scrolls to the end of a page in viewport steps, then back to the top", async () => {
    const page = await pageWith(`<div style="height:5000px"></div>`);
    const outcome = await loadLazyContent(page, { budgetMs: 5000 });
    expect(outcome).toMatchObject({ reachedEnd: true, imagesPending: 0 });
    // 5000 px in 800 px steps: the last viewport starts at 4200.
    expect(outcome.steps).toBe(6);
    expect(await scrollY(page)).toBe(0);
  });

  it("keeps within its height and its time on a page that grows as it is scrolled", async () => {
    const page = await pageWith(
      `<div id="feed" style="height:3000px"></div>`,
      `addEventListener("scroll", () => { const f = document.getElementById("feed"); f.style.height = (f.offsetHeight + 2000) + "px"; });`,
    );
    const t0 = Date.now();
    const byHeight = await loadLazyContent(page, { budgetMs: 10_000, maxPx: 6000 });
    expect(byHeight.reachedEnd).toBe(true);
    expect(byHeight.steps).toBeLessThanOrEqual(7);
    const byTime = await loadLazyContent(page, { budgetMs: 600, maxPx: 1_000_000 });
    expect(byTime.reachedEnd).toBe(false);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(await scrollY(page)).toBe(0);
  });

  it("does nothing without a budget, and stops at once on a page that does not scroll", async () => {
    const page = await pageWith(`<div style="height:5000px"></div>`);
    await page.evaluate(() => window.scrollTo(0, 1234));
    expect(await loadLazyContent(page, { budgetMs: 0 })).toMatchObject({ steps: 0 });
    expect(await scrollY(page)).toBe(1234);
    const fixed = await pageWith(`<div style="height:100vh;overflow:hidden"><div style="height:5000px"></div></div>`);
    await fixed.evaluate(() => (document.body.style.overflow = "hidden"));
    const t0 = Date.now();
    expect(await loadLazyContent(fixed, { budgetMs: 5000 })).toMatchObject({ steps: 0, reachedEnd: true });
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it("gives up within its budget on a page whose script never yields once scrolled", async () => {
    const page = await pageWith(
      `<div style="height:5000px"></div>`,
      `addEventListener("scroll", () => { for (;;) {} });`,
    );
    const t0 = Date.now();
    await loadLazyContent(page, { budgetMs: 500 });
    expect(Date.now() - t0).toBeLessThan(5000);
    await expect(takeFullPageScreenshot(page, { timeoutMs: 1000 })).rejects.toThrow(/did not answer within 1000 ms/);
  });
});

describe("takeFullPageScreenshot", () => {
  it("captures a page whole up to the cap, and the top of a taller one", async () => {
    const short = await pageWith(`<div style="height:3000px"></div>`);
    const whole = await takeFullPageScreenshot(short, { timeoutMs: 10_000, maxPx: 4000 });
    expect(whole).toMatchObject({ clipped: false, pageHeight: 3000, pageWidth: 1280 });
    expect(heightOf(whole.png)).toBe(3000);
    const tall = await pageWith(`<div style="height:50000px"></div>`);
    const top = await takeFullPageScreenshot(tall, { timeoutMs: 10_000 });
    expect(top).toMatchObject({ clipped: true, pageHeight: 50_000, pageWidth: 1280 });
    expect(heightOf(top.png)).toBe(16_384);
    expect(top.png.readUInt32BE(16)).toBe(1280);
  });
});
