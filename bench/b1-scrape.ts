// B1: one scrape end to end through the API (POST /api/scrape, poll until completed) against bare
// Playwright doing the same work on the same pages: new context, goto, page.content(), HTML →
// Markdown with our converter. Both browsers are warm (launched before timing); the sides
// alternate page by page so background load hits both alike, and each scrape starts after a
// pause, on a quiet machine.
import { BASE_CHROMIUM_ARGS, settlePage, trackRequests, watchTimers } from "@orbweaver/browser";
import { convertHtmlToMarkdown } from "@orbweaver/extract";
import { chromium, type Browser } from "playwright";
import type { BenchContext } from "./lib/context.ts";
import { CHROMIUM_PATH, pollScrape, submitScrape } from "./lib/stack.ts";
import { fmt, median, note, percentile, reportRatio, sleep } from "./lib/stats.ts";

/** Idle time before each timed scrape: what one side leaves running (a context closing, a warm one being made) must not land on the other side's clock. */
const PAUSE_BETWEEN_MS = 400;

/** Bare Playwright's version of one scrape; `settle` adds the worker's settle after load (`watchTimers` + `settlePage`, as `openPage`). */
async function playwrightScrape(browser: Browser, url: string, settle: boolean): Promise<number> {
  const t0 = performance.now();
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const tracker = settle ? trackRequests(page) : null;
    if (settle) await watchTimers(page);
    await page.goto(url, { waitUntil: "load", timeout: 30_000 });
    if (tracker) {
      await settlePage(page, { tracker });
      tracker.dispose();
    }
    const html = await page.content();
    const { markdown } = convertHtmlToMarkdown(html, { baseUrl: page.url() });
    if (!markdown.includes("Rendered by script")) throw new Error(`playwright: ${url} did not render`);
  } finally {
    await context.close();
  }
  return performance.now() - t0;
}

async function orbweaverScrape(api: string, key: string, url: string): Promise<{ ms: number; workerMs: number }> {
  const t0 = performance.now();
  const { jobId } = await submitScrape(api, key, { urls: [{ url }] });
  const done = await pollScrape(api, key, jobId, { intervalMs: 10, timeoutMs: 60_000 });
  const ms = performance.now() - t0;
  const page = done.result?.data[0];
  if (done.status !== "completed" || !page?.markdownContent.includes("Rendered by script")) {
    throw new Error(`orbweaver: ${url} ${done.status} ${page?.error ?? done.error ?? "without the rendered text"}`);
  }
  return { ms, workerMs: done.result?.stats.durationMs ?? NaN };
}

export async function runB1(ctx: BenchContext): Promise<void> {
  const { api, key } = await ctx.stack();
  await ctx.useWorker({ WORKER_CONCURRENCY: String(ctx.options.concurrency) });
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: BASE_CHROMIUM_ARGS });
  try {
    const n = ctx.options.b1Pages;
    const ours: number[] = [];
    const bare: number[] = [];
    const settled: number[] = [];
    const workerMs: number[] = [];
    // Script-rendered pages: both sides must load them in the browser (static pages would take
    // Orbweaver's HTTP path; that is B6).
    for (let i = -2; i < n; i++) {
      const url = ctx.fixtures.app(1000 + i);
      const order = i % 2 === 0 ? ["o", "p", "s"] : ["p", "s", "o"];
      for (const side of order) {
        await sleep(PAUSE_BETWEEN_MS);
        let ms: number;
        if (side === "o") {
          const r = await orbweaverScrape(api.api, key, url);
          ms = r.ms;
          if (i >= 0) workerMs.push(r.workerMs);
        } else ms = await playwrightScrape(browser, url, side === "s");
        if (i < 0) continue; // warm-up
        (side === "o" ? ours : side === "p" ? bare : settled).push(ms);
      }
    }
    const o50 = median(ours);
    const p50 = median(bare);
    const s50 = median(settled);
    reportRatio({
      id: "B1",
      what: "scrape p50",
      ours: `orbweaver ${fmt(o50)} ms`,
      theirs: `playwright ${fmt(p50)} ms`,
      ratio: o50 / p50,
      target: { op: "≤", value: 1.1 },
    });
    note(
      `${n} script-rendered pages on 3 loopback hosts; p90 orbweaver ${fmt(percentile(ours, 90))} ms, playwright ${fmt(percentile(bare, 90))} ms`,
    );
    note(
      `orbweaver's own job time (result stats.durationMs) p50 ${fmt(median(workerMs))} ms; the rest is API, queue and polling (every 10 ms)`,
    );
    note(
      `playwright + the worker's settle after load (quiet 250 ms, 50 ms when no page timer is due; ≤ 2.5 s): p50 ${fmt(s50)} ms → orbweaver / that = ${fmt(o50 / s50, 2)}`,
    );
  } finally {
    await browser.close();
  }
}
