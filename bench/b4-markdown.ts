// B4: HTML → Markdown, our converter (packages/extract: turndown + GFM + our rules and clean-up)
// against plain turndown (atx headings, fenced code), on synthetic Chromium-style pages from 10 KB
// to 2 MB, in this process, after a JIT warm-up; median of several runs per size. The scaling
// exponent is the least-squares slope of log(time) over log(size) (1 = linear).
import { convertHtmlToMarkdown } from "@orbweaver/extract";
import TurndownService from "turndown";
import { makeSyntheticPage } from "../packages/extract/test/markdown/synthetic-page.ts";
import type { BenchContext } from "./lib/context.ts";
import { fmt, logLogSlope, median, note, reportRatio } from "./lib/stats.ts";

const ALL_SIZES = [10_000, 30_000, 100_000, 300_000, 1_000_000, 2_000_000];

/** Median time of `fn`: at least 3 runs, more while under ~1.5 s in total (at most 15). */
function measure(fn: () => unknown): number {
  const samples: number[] = [];
  let spent = 0;
  while (samples.length < 3 || (spent < 1500 && samples.length < 15)) {
    const t0 = performance.now();
    fn();
    const ms = performance.now() - t0;
    samples.push(ms);
    spent += ms;
  }
  return median(samples);
}

const label = (bytes: number) => (bytes >= 1_000_000 ? `${bytes / 1_000_000} MB` : `${bytes / 1000} KB`);

export async function runB4(ctx: BenchContext): Promise<void> {
  const sizes = ALL_SIZES.filter((s) => s <= ctx.options.b4MaxBytes);
  const turndown = new TurndownService({ headingStyle: "atx", codeBlockStyle: "fenced" });
  const ours = (html: string) => convertHtmlToMarkdown(html, { baseUrl: "https://example.com/docs/" }).markdown;
  const warm = makeSyntheticPage(100_000, 7);
  for (let i = 0; i < 5; i++) {
    turndown.turndown(warm);
    ours(warm);
  }
  const oursPts: Array<[number, number]> = [];
  const theirPts: Array<[number, number]> = [];
  for (const bytes of sizes) {
    const html = makeSyntheticPage(bytes);
    // Alternate which side runs first at each size.
    const first = oursPts.length % 2 === 0;
    const a = first ? measure(() => ours(html)) : NaN;
    const t = measure(() => turndown.turndown(html));
    const o = first ? a : measure(() => ours(html));
    oursPts.push([html.length, o]);
    theirPts.push([html.length, t]);
    reportRatio({
      id: "B4",
      what: `html→markdown ${label(bytes)}`,
      ours: `orbweaver ${fmt(o, o < 10 ? 1 : 0)} ms`,
      theirs: `turndown ${fmt(t, t < 10 ? 1 : 0)} ms`,
      ratio: o / t,
    });
  }
  const so = logLogSlope(oursPts);
  const st = logLogSlope(theirPts);
  reportRatio({
    id: "B4",
    what: `scaling exponent ${label(sizes[0] ?? 0)}–${label(sizes[sizes.length - 1] ?? 0)}`,
    ours: `orbweaver ${fmt(so, 2)}`,
    theirs: `turndown ${fmt(st, 2)}`,
    ratio: so / st,
  });
  note("no target in issue #8; 1.00 = linear. Both run in one thread here; the worker runs ours in a thread pool.");
  await Promise.resolve();
}
