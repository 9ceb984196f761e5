// Synchronous HTML → Markdown core. CPU-bound for hundreds of ms on big pages,
// so production code should call it through markdown-pool.ts, not directly.
//
// Library choice, measured with bench/markdown.ts (synthetic Chromium-style
// page; Node 20.20, median of 3 runs after warm-up, ms):
//
//   size    turndown+gfm   node-html-markdown   ratio
//   100KB        66                 53           1.25
//   1MB         283               4388           0.06
//   3MB         791              51835           0.02
//
// node-html-markdown is marginally faster on small pages but superlinear
// (~12x the time for 3x the input past 1 MB); turndown stays linear, so turndown wins.
// The full convertHtmlToMarkdown pipeline (custom rules, post-processing)
// measured 46 / 295 / 918 ms; mainContentOnly (linkedom + readability first)
// 202 / 954 / 2974 ms.
//
// The default path hands the raw string to turndown, whose internal parser
// (domino) measured ~1.7x faster end to end than parsing with linkedom and
// passing the DOM in; linkedom is only used where readability needs it.
import type { PageMetadata } from "../metadata/index.ts";
import { extractMainContent } from "./main-content.ts";
import { collapseBlankLines, tryParseUrl } from "./markdown-text.ts";
import { createTurndownService, type ConversionContext } from "./turndown-service.ts";

export interface HtmlToMarkdownOptions {
  /** Page URL; relative links and images are resolved against it (or the page's <base href>). */
  baseUrl?: string;
  /** Keep only the main content (readability); falls back to the whole page when none is found. */
  mainContentOnly?: boolean;
  /** Also read the page's JSON-LD, OpenGraph and microdata (in the pool: off the main thread). */
  withMetadata?: boolean;
}

export interface MarkdownResult {
  markdown: string;
  title: string;
  /** Present when `withMetadata` was asked for. */
  metadata?: PageMetadata;
}

function convertFragment(html: string, ctx: ConversionContext): string {
  const service = createTurndownService(ctx);
  return collapseBlankLines(service.turndown(html));
}

export function convertHtmlToMarkdown(html: string, opts: HtmlToMarkdownOptions = {}): MarkdownResult {
  // An unparsable base would make every link resolution throw; treat it as absent.
  const baseUrl = opts.baseUrl && tryParseUrl(opts.baseUrl) ? opts.baseUrl : undefined;
  if (!html.trim()) return { markdown: "", title: "" };

  if (opts.mainContentOnly) {
    const main = extractMainContent(html, baseUrl);
    if (main) {
      const ctx: ConversionContext = { baseUrl: main.baseUrl, title: "" };
      const markdown = convertFragment(main.html, ctx);
      if (markdown) return { markdown, title: main.title };
    }
  }

  const ctx: ConversionContext = { baseUrl, title: "" };
  const markdown = convertFragment(html, ctx);
  return { markdown, title: ctx.title };
}
