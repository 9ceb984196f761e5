// Main-content extraction: @mozilla/readability over a linkedom document.
// linkedom is used (rather than turndown's internal parser) because it is a
// dependency we own and readability is known to work on it.
import { Readability } from "@mozilla/readability";
import { parseHTML } from "linkedom";
import { absolutizeUrl, squashWhitespace } from "./markdown-text.ts";

export interface MainContent {
  /** Article HTML (a fragment), ready for turndown. */
  html: string;
  /** Readability's title, falling back to the document <title>. */
  title: string;
  /** Base URL after applying an in-page <base href>. */
  baseUrl: string | undefined;
}

const NOISE_SELECTOR = "script,style,noscript,template,svg,iframe,canvas,object,embed";

/**
 * Returns the page's main content, or null when readability finds nothing
 * with text (the caller then converts the whole body).
 */
export function extractMainContent(html: string, baseUrl: string | undefined): MainContent | null {
  const { document } = parseHTML(html);
  const docTitle = squashWhitespace(document.querySelector("head > title, title")?.textContent ?? "");
  const baseHref = document.querySelector("base[href]")?.getAttribute("href");
  const effectiveBase = baseHref ? absolutizeUrl(baseHref, baseUrl) : baseUrl;

  // Readability strips scripts/styles itself, but not SVG/iframes/canvas, and
  // removing them first makes its scoring passes cheaper on heavy pages.
  for (const el of Array.from(document.querySelectorAll(NOISE_SELECTOR))) el.remove();

  // keepClasses preserves "language-xx" on <code> so fenced blocks keep their
  // language; classes are otherwise ignored by turndown.
  const reader = new Readability(document as unknown as Document, { keepClasses: true });
  const article = reader.parse();
  if (!article?.content || !article.textContent?.trim()) return null;
  return {
    html: article.content,
    title: squashWhitespace(article.title ?? "") || docTitle,
    baseUrl: effectiveBase,
  };
}
