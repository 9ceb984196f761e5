// Builds the TurndownService used for one conversion. A fresh service per call
// is cheap (rule registration only) and lets rules carry per-page state (base
// URL, captured <title>) without leaking between pages.
import TurndownService from "turndown";
import { highlightedCodeBlock, taskListItems } from "turndown-plugin-gfm";
import { absolutizeUrl, squashWhitespace } from "./markdown-text.ts";
import { tableRules } from "./table-rules.ts";

/** Elements whose content is never readable text. */
export const DROPPED_ELEMENTS: ReadonlySet<string> = new Set([
  "SCRIPT",
  "STYLE",
  "NOSCRIPT",
  "TEMPLATE",
  "SVG",
  "svg",
  "IFRAME",
  "CANVAS",
  "HEAD",
  "META",
  "LINK",
  "OBJECT",
  "EMBED",
]);

export interface ConversionContext {
  /** Base for relative links/images; replaced by an in-page <base href> when found. */
  baseUrl: string | undefined;
  /** First HTML <title> seen during the traversal (empty when none). */
  title: string;
}

function escapeDestination(url: string): string {
  // Resolved URLs never contain raw spaces or angle brackets, but unresolved
  // ones (no base) might; <...> keeps them one CommonMark destination.
  const escaped = url.replace(/[()]/g, "\\$&");
  return /[\s<>]/.test(escaped) ? `<${escaped.replace(/[<>]/g, encodeURIComponent)}>` : escaped;
}

function titlePart(node: Element): string {
  const title = squashWhitespace(node.getAttribute("title") ?? "");
  return title ? ` "${title.replace(/"/g, '\\"')}"` : "";
}

export function createTurndownService(ctx: ConversionContext): TurndownService {
  const service = new TurndownService({
    headingStyle: "atx",
    codeBlockStyle: "fenced",
    bulletListMarker: "-",
    emDelimiter: "*",
    hr: "---",
  });
  service.use([highlightedCodeBlock, taskListItems]);
  tableRules(service);

  // gfm's strikethrough emits a single "~", which CommonMark+GFM renderers
  // other than github.com often ignore; "~~" is understood everywhere.
  service.addRule("orbStrikethrough", {
    filter: ["del", "s", "strike" as keyof HTMLElementTagNameMap],
    replacement: (content) => (content.trim() ? `~~${content}~~` : ""),
  });

  service.addRule("orbLink", {
    filter: (node) => node.nodeName === "A" && node.getAttribute("href") !== null,
    replacement: (content, node) => {
      // Block content inside <a> (card layouts) would break the link syntax.
      const text = content.replace(/\s*\n\s*/g, " ").trim();
      const href = (node.getAttribute("href") ?? "").trim();
      // Icon-only links carry no text for a reader; javascript: links go nowhere.
      if (!text) return "";
      if (!href || /^javascript:/i.test(href)) return text;
      return `[${text}](${escapeDestination(absolutizeUrl(href, ctx.baseUrl))}${titlePart(node)})`;
    },
  });

  service.addRule("orbImage", {
    filter: "img",
    replacement: (_content, node) => {
      // Lazy-loaded images keep the real URL in data-src until scrolled into view.
      let src = (node.getAttribute("src") ?? "").trim();
      if (!src || src.startsWith("data:")) src = (node.getAttribute("data-src") ?? "").trim();
      // Inline data: URIs can be hundreds of KB of base64; never worth keeping.
      if (!src || src.startsWith("data:")) return "";
      const alt = service.escape(squashWhitespace(node.getAttribute("alt") ?? ""));
      return `![${alt}](${escapeDestination(absolutizeUrl(src, ctx.baseUrl))}${titlePart(node)})`;
    },
  });

  service.addRule("orbBase", {
    filter: "base",
    replacement: (_content, node) => {
      const href = node.getAttribute("href");
      if (href) ctx.baseUrl = absolutizeUrl(href, ctx.baseUrl);
      return "";
    },
  });

  service.addRule("orbTitle", {
    // Upper-case nodeName matches only the HTML <title>; SVG's <title> is "title".
    filter: "title",
    replacement: (_content, node) => {
      if (!ctx.title && node.nodeName === "TITLE") ctx.title = squashWhitespace(node.textContent ?? "");
      return "";
    },
  });

  // Added last so it takes precedence over every other rule.
  service.addRule("orbDrop", {
    filter: (node) => {
      if (!DROPPED_ELEMENTS.has(node.nodeName)) return false;
      // Turndown converts children before calling the replacement; emptying
      // the subtree here avoids escaping megabytes of inline JS/CSS/SVG paths.
      node.textContent = "";
      return true;
    },
    replacement: () => "",
  });

  return service;
}
