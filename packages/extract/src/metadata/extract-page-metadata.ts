// Structured metadata a page already publishes (JSON-LD, OpenGraph/Twitter
// cards, microdata). Fed to the model next to the Markdown: prices, dates and
// authors there are often more reliable than the visible text.
import { parseHTML } from "linkedom";
import { readMicrodata } from "./read-microdata.ts";
import type { MicrodataElement } from "./read-microdata.ts";

export interface PageMetadata {
  /** Every parseable `<script type="application/ld+json">` value; top-level arrays are flattened. */
  jsonLd: unknown[];
  /** `og:*`, `twitter:*`, `article:*` and `product:*` meta tags, first occurrence wins. */
  openGraph: Record<string, string>;
  /** Top-level microdata items (see readMicrodata). */
  microdata: Array<Record<string, unknown>>;
}

const OG_PREFIXES = ["og:", "twitter:", "article:", "product:"];
/** Any of these in the raw HTML means there may be metadata; without them the DOM parse (~0.5 s/MB) is skipped. */
const MARKERS = /ld\+json|itemscope|=\s*["']?(?:og|twitter|article|product):/i;

/** Strips the wrappers CMSs put around inline JSON (`<!-- -->`, `//<![CDATA[ ]]>`). */
function unwrapScriptText(text: string): string {
  return text
    .trim()
    .replace(/^(?:\/\/\s*)?<!\[CDATA\[|(?:\/\/\s*)?\]\]>$/g, "")
    .replace(/^<!--|-->$/g, "")
    .trim();
}

function parseJsonLd(text: string): unknown[] {
  const body = unwrapScriptText(text);
  if (!body) return [];
  try {
    const parsed: unknown = JSON.parse(body);
    return Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    // Broken JSON-LD is common (trailing commas, unescaped quotes); skip it.
    return [];
  }
}

/**
 * Extracts JSON-LD, OpenGraph-style meta tags and basic microdata from an
 * HTML document or fragment. Never throws; missing or invalid parts yield
 * empty results. When the HTML shows any metadata marker it parses the whole
 * document with linkedom — CPU-bound, about 0.5–0.8 s per MB — so for large
 * pages call it off the main thread (e.g. where Markdown conversion runs) and
 * hand the result to extractContent as `pages[].metadata`.
 */
export function extractPageMetadata(html: string): PageMetadata {
  const result: PageMetadata = { jsonLd: [], openGraph: {}, microdata: [] };
  if (!MARKERS.test(html)) return result;
  let document: ReturnType<typeof parseHTML>["document"];
  try {
    ({ document } = parseHTML(html));
  } catch {
    return result;
  }

  for (const script of Array.from(document.querySelectorAll("script"))) {
    const type = (script.getAttribute("type") ?? "").split(";")[0]?.trim().toLowerCase();
    if (type === "application/ld+json") result.jsonLd.push(...parseJsonLd(script.textContent ?? ""));
  }

  for (const meta of Array.from(document.querySelectorAll("meta"))) {
    // Sites mix `property` (the OpenGraph spec) and `name` (Twitter's docs).
    const key = (meta.getAttribute("property") ?? meta.getAttribute("name") ?? "").trim().toLowerCase();
    const content = meta.getAttribute("content");
    if (!content || !OG_PREFIXES.some((p) => key.startsWith(p)) || key in result.openGraph) continue;
    result.openGraph[key] = content.trim();
  }

  const scoped = Array.from(document.querySelectorAll("[itemscope],[itemprop]")) as unknown as MicrodataElement[];
  if (scoped.length > 0) result.microdata = readMicrodata(scoped);
  return result;
}
