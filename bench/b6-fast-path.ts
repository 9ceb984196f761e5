// B6: the HTTP path against the browser path, through the API with the same worker.
// - Static pages: single-URL scrapes with scrapeMode "fast" (plain HTTP) against the same number
//   of other static pages forced into Chromium (one `wait 0 ms` action per URL: actions always use
//   the browser), all submitted at once and polled round-robin. Ratio of pages per second, target
//   ≥ 10.
// - Script-rendered pages in the default mode (HTTP first): each must fall back to the browser.
//   The result says which path served it: only a browser runs /app.js, which writes "Rendered by
//   script #N" into the page, and the fixture server records the /app.js?n=N fetch. Target 100%.
import type { BenchContext } from "./lib/context.ts";
import { getScrape, runBatch, submitScrape, type ScrapePoll } from "./lib/stack.ts";
import { fmt, median, note, reportRatio, sleep } from "./lib/stats.ts";

/** Submits every body at once, then polls the jobs one request at a time until all are done. */
async function runScrapes(
  api: string,
  key: string,
  bodies: unknown[],
): Promise<{ wallMs: number; done: ScrapePoll[] }> {
  const t0 = performance.now();
  const ids = await Promise.all(bodies.map(async (b) => (await submitScrape(api, key, b)).jobId));
  const done: ScrapePoll[] = [];
  let pending = ids;
  const deadline = Date.now() + 600_000;
  while (pending.length > 0) {
    if (Date.now() > deadline) throw new Error(`${pending.length} scrapes unfinished after 10 minutes`);
    const next: string[] = [];
    for (const id of pending) {
      const r = await getScrape(api, key, id);
      if (r.status === "completed" || r.status === "failed") done.push(r);
      else next.push(id);
    }
    pending = next;
    if (pending.length > 0) await sleep(20);
  }
  return { wallMs: performance.now() - t0, done };
}

export async function runB6(ctx: BenchContext): Promise<void> {
  const { api, key } = await ctx.stack();
  const n = ctx.options.b6Pages;
  const { fixtures } = ctx;
  await ctx.useWorker({ WORKER_CONCURRENCY: String(ctx.options.concurrency) });
  try {
    fixtures.reset();
    const fast = await runScrapes(
      api.api,
      key,
      Array.from({ length: n }, (_, i) => ({ urls: [{ url: fixtures.article(6000 + i) }], scrapeMode: "fast" })),
    );
    const fastBrowserLoads = fixtures.hits("/style.css");
    fixtures.reset();
    const browser = await runScrapes(
      api.api,
      key,
      Array.from({ length: n }, (_, i) => ({
        urls: [{ url: fixtures.article(7000 + i), actions: [{ type: "wait", duration: 0 }] }],
      })),
    );
    const browserLoads = fixtures.hits("/style.css");
    for (const [name, r] of [
      ["fast", fast],
      ["browser", browser],
    ] as const) {
      const ok = r.done.filter(
        (d) => d.status === "completed" && d.result?.data[0]?.markdownContent.includes("Section 6"),
      );
      if (ok.length !== n) throw new Error(`${name}: ${ok.length}/${n} completed with the article text`);
    }
    if (browserLoads < n) throw new Error(`browser side: only ${browserLoads} of ${n} pages loaded their stylesheet`);
    const fastRate = n / (fast.wallMs / 1000);
    const browserRate = n / (browser.wallMs / 1000);
    reportRatio({
      id: "B6",
      what: "static pages/s",
      ours: `fast path ${fmt(fastRate, 1)}`,
      theirs: `browser path ${fmt(browserRate, 1)}`,
      ratio: fastRate / browserRate,
      target: { op: "≥", value: 10 },
    });
    const jobMs = (r: { done: ScrapePoll[] }) => fmt(median(r.done.map((d) => d.result?.stats.durationMs ?? NaN)));
    note(`job time in the worker (stats.durationMs) p50: fast ${jobMs(fast)} ms, browser ${jobMs(browser)} ms`);
    note(
      `${n} static pages each, worker concurrency ${ctx.options.concurrency}; stylesheet fetches (browser loads): fast ${fastBrowserLoads}, browser ${browserLoads}`,
    );

    fixtures.reset();
    const appNums = Array.from({ length: n }, (_, i) => 8000 + i);
    const shells = await runBatch(api.api, key, { urls: appNums.map((i) => fixtures.app(i)) }, { intervalMs: 50 });
    const ran = fixtures.scriptRuns();
    const byUrl = new Map(shells.batch.items.map((item) => [item.url, item]));
    let rendered = 0;
    for (const i of appNums) {
      const item = byUrl.get(fixtures.app(i));
      const text = JSON.stringify(item?.result ?? "");
      if (item?.status === "completed" && text.includes(`Rendered by script #${i}`) && ran.has(i)) rendered++;
    }
    reportRatio({
      id: "B6",
      what: "browser fallback on script-rendered pages",
      ours: `${rendered} rendered in the browser`,
      theirs: `${n} pages`,
      ratio: rendered / n,
      target: { op: "≥", value: 1 },
    });
  } finally {
    await ctx.stopWorker();
  }
}
