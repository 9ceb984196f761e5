// HTML → Markdown library benchmark: turndown (+gfm) vs node-html-markdown on
// synthetic Chromium-style pages of 100 KB, 1 MB and 3 MB, plus our full
// pipeline for reference. Run: pnpm exec tsx bench/markdown.ts [--quick]
//
// The libraries are dependencies of @orbweaver/extract, not of the root, so
// under pnpm they are resolved from that package's directory.
import { createRequire } from "node:module";
import { convertHtmlToMarkdown } from "../packages/extract/src/markdown/html-to-markdown.ts";
import { makeSyntheticPage } from "../packages/extract/test/markdown/synthetic-page.ts";

interface Turndown {
  use(plugin: unknown): Turndown;
  turndown(html: string): string;
}
type TurndownCtor = new (opts: Record<string, unknown>) => Turndown;
type NhmCtor = new () => { translate(html: string): string };

const requireFromExtract = createRequire(new URL("../packages/extract/package.json", import.meta.url));
const TurndownService = requireFromExtract("turndown") as TurndownCtor;
const { gfm } = requireFromExtract("turndown-plugin-gfm") as { gfm: unknown };
const { NodeHtmlMarkdown } = requireFromExtract("node-html-markdown") as { NodeHtmlMarkdown: NhmCtor };

const quick = process.argv.includes("--quick");
const SIZES: Array<[string, number]> = [
  ["100KB", 100_000],
  ["1MB", 1_000_000],
  ["3MB", 3_000_000],
];
const RUNS = quick ? 1 : 3;
/** A single run slower than this is not repeated (node-html-markdown takes ~40 s at 3 MB). */
const REPEAT_BUDGET_MS = 5_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function time(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function measure(fn: () => unknown): number {
  const samples = [time(fn)];
  while (samples.length < RUNS && (samples[0] ?? 0) < REPEAT_BUDGET_MS) samples.push(time(fn));
  return Math.round(median(samples));
}

const turndown = new TurndownService({ headingStyle: "atx", codeBlockStyle: "fenced" }).use(gfm);
const nhm = new NodeHtmlMarkdown();

// Warm up the JITs so the 100 KB row is not dominated by compilation.
const warm = makeSyntheticPage(100_000, 7);
for (let i = 0; i < 3; i++) {
  turndown.turndown(warm);
  nhm.translate(warm);
  convertHtmlToMarkdown(warm);
  convertHtmlToMarkdown(warm, { mainContentOnly: true });
}

console.log(`HTML → Markdown benchmark (Node ${process.version}, median of ${RUNS} run(s))`);
for (const [label, bytes] of SIZES) {
  const html = makeSyntheticPage(bytes);
  const td = measure(() => turndown.turndown(html));
  const nh = measure(() => nhm.translate(html));
  const full = measure(() => convertHtmlToMarkdown(html, { baseUrl: "https://example.com/docs/" }));
  const main = measure(() =>
    convertHtmlToMarkdown(html, { baseUrl: "https://example.com/docs/", mainContentOnly: true }),
  );
  const kb = Math.round(html.length / 1024);
  console.log(
    `${label} (${kb} KiB): turndown ${td} ms, node-html-markdown ${nh} ms, ratio ${(td / nh).toFixed(2)}` +
      ` | convertHtmlToMarkdown ${full} ms, mainContentOnly ${main} ms`,
  );
}
