/*
 * Decides whether HTML fetched without a browser is the real page or a shell
 * that only scripts turn into content. Regex over a bounded prefix, no DOM:
 * it runs on every fast-path fetch and must stay in the low milliseconds on
 * megabyte pages. A false "needs a browser" costs a slower scrape; a false
 * "fine" returns an empty result, so borderline shells lean towards true.
 */

export interface NeedsBrowserResult {
  browser: boolean;
  /** Why a browser is needed; absent when it is not. */
  reason?: string;
}

/** Characters of the document inspected; later content cannot change the verdict much. */
export const NEEDS_BROWSER_SCAN_CHARS = 1_000_000;
/** Below this much visible text, scripts present means the page is probably rendered by them. */
export const SCRIPT_SHELL_MAX_TEXT = 200;
/** An empty framework root counts as a shell unless the rest of the page carries this much text. */
export const EMPTY_ROOT_MAX_TEXT = 2000;

const ROOT_IDS = ["root", "app", "__next", "__nuxt", "___gatsby", "svelte", "q-app"];
// Opening tag of a framework mount point: id from ROOT_IDS, data-reactroot, or Angular's <app-root>.
const ROOT_OPEN = new RegExp(
  `<(?:([a-z][a-z0-9-]*)\\b[^>]*?(?:\\bid\\s*=\\s*["']?(?:${ROOT_IDS.join("|")})(?=["'\\s>])|\\bdata-reactroot\\b)[^>]*|(app-root)\\b[^>]*)>`,
  "gi",
);
const SCRIPT = /<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi;
const NOSCRIPT = /<noscript\b[^>]*>([\s\S]*?)<\/noscript\s*>/gi;
const ENABLE_JS =
  /\b(?:enable|turn on|activate)\s+(?:your\s+)?javascript\b|\bjavascript\s+(?:is\s+)?(?:required|disabled|must be enabled)\b|\brequires?\s+javascript\b/i;
const META_REFRESH = /<meta\b[^>]*\bhttp-equiv\s*=\s*["']?refresh\b[^>]*>/gi;
// Unconditional top-level navigation: location = ..., location.href = ..., location.replace/assign(...).
const JS_NAVIGATION =
  /(?:^|[;{}\s(])(?:(?:window|document|top|self)\s*\.\s*)?location(?:\s*\.\s*href)?\s*=(?!=)|\blocation\s*\.\s*(?:replace|assign)\s*\(/;
const CONDITIONAL = /\bif\s*\(|\bfunction\b|=>|addEventListener|\bon[a-z]+\s*=|&&|\|\||\?/;
// Blanked before the CONDITIONAL test, since a redirect URL in a string may contain "?" or "&&".
const STRING_LITERAL = /(["'`])(?:\\.|(?!\1)[^\\\n])*\1/g;
const HYDRATION_MARKERS: Array<[RegExp, string]> = [
  [/\bid\s*=\s*["']?__NEXT_DATA__\b/i, "Next.js data"],
  [/\bwindow\.__NUXT__\b|\bid\s*=\s*["']?__NUXT_DATA__\b/i, "Nuxt data"],
  [/\bng-version\s*=/i, "Angular"],
  [
    /\bwindow\.__INITIAL_STATE__\b|\bwindow\.__APOLLO_STATE__\b|\bwindow\.__PRELOADED_STATE__\b/i,
    "preloaded app state",
  ],
];

/** Script types that do not execute (data islands such as JSON-LD or __NEXT_DATA__). */
function isExecutable(attrs: string): boolean {
  const m = /\btype\s*=\s*["']?([^"'\s>]+)/i.exec(attrs);
  if (m?.[1] === undefined) return true;
  const t = m[1].toLowerCase();
  return t === "module" || t.includes("javascript") || t.includes("ecmascript");
}

// Elements whose content is never visible text (noscript: scripts run in the browser we compare with).
const SKIPPED = ["script", "style", "noscript", "template", "svg"];
const CLOSERS = new Map(SKIPPED.map((t) => [t, new RegExp(`</${t}\\s*>`, "gi")]));
const TAG_NAME = /^<([a-z][a-z0-9-]*)/i;

/**
 * Visible body text, whitespace-collapsed: no head, scripts, styles, noscript,
 * templates, comments or tags. A forward scan (indexOf, no backtracking) that
 * stops once `limit` characters are collected, so a long article costs only
 * its first few kilobytes. Default limit: unbounded.
 */
export function roughVisibleText(html: string, limit = Number.POSITIVE_INFINITY): string {
  const bodyAt = html.search(/<body[\s>]/i);
  const headEnd = bodyAt >= 0 ? -1 : html.search(/<\/head\s*>/i);
  let i = bodyAt >= 0 ? bodyAt : Math.max(headEnd, 0);
  const parts: string[] = [];
  let length = 0;
  while (i < html.length && length < limit) {
    const lt = html.indexOf("<", i);
    const end = lt < 0 ? html.length : lt;
    if (end > i) {
      const piece = html.slice(i, end).replace(/\s+/g, " ");
      if (piece !== " ") {
        parts.push(piece);
        length += piece.length;
      }
    }
    if (lt < 0) break;
    // Tags separate words; one separator per run of tags is enough.
    if (parts.at(-1) !== " ") parts.push(" ");
    if (html.startsWith("<!--", lt)) {
      const close = html.indexOf("-->", lt + 4);
      i = close < 0 ? html.length : close + 3;
      continue;
    }
    const gt = html.indexOf(">", lt);
    if (gt < 0) break;
    i = gt + 1;
    // Skipped elements start with s, n or t: other tags need no name parsing (the hot path).
    const first = html.charCodeAt(lt + 1) | 0x20;
    const maybeSkipped = first === 0x73 || first === 0x6e || first === 0x74;
    const name = maybeSkipped
      ? TAG_NAME.exec(html.slice(lt, Math.min(gt + 1, lt + 32)))?.[1]?.toLowerCase()
      : undefined;
    const closer = name === undefined ? undefined : CLOSERS.get(name);
    if (closer !== undefined && html[gt - 1] !== "/") {
      closer.lastIndex = i;
      const m = closer.exec(html);
      // An unclosed script (cut by the scan prefix) hides the rest: it is code, not text.
      i = m ? m.index + m[0].length : html.length;
    }
  }
  return parts
    .join("")
    .replace(/&(?:nbsp|#160|#xa0);/gi, " ")
    .replace(/\s+/g, " ")
    .trim();
}

function metaRefreshRedirect(doc: string): boolean {
  for (const m of doc.matchAll(META_REFRESH)) {
    const content = /\bcontent\s*=\s*["']?\s*(\d+(?:\.\d+)?)?\s*[;,]?\s*(url\s*=)?/i.exec(m[0]);
    // A bare "refresh every N s" reloads the same page; only a redirect soon enough matters.
    if (content?.[2] !== undefined && Number(content[1] ?? 0) <= 10) return true;
  }
  return false;
}

interface ScriptStats {
  executable: number;
  jsRedirect: boolean;
}

function scanScripts(doc: string): ScriptStats {
  const stats: ScriptStats = { executable: 0, jsRedirect: false };
  for (const m of doc.matchAll(SCRIPT)) {
    const attrs = m[1] ?? "";
    if (!isExecutable(attrs)) continue;
    stats.executable++;
    const code = m[2] ?? "";
    // Short inline scripts only: a redirect stub is a line, bundles mention location everywhere.
    if (!stats.jsRedirect && code.length > 0 && code.length < 1000 && JS_NAVIGATION.test(code)) {
      stats.jsRedirect = !CONDITIONAL.test(code.replace(STRING_LITERAL, '""'));
    }
  }
  return stats;
}

/** The first framework root whose element is empty (only whitespace or comments before its end tag). */
function emptyRoot(doc: string): string | undefined {
  for (const m of doc.matchAll(ROOT_OPEN)) {
    const tag = (m[1] ?? m[2] ?? "").toLowerCase();
    const after = doc.slice((m.index ?? 0) + m[0].length, (m.index ?? 0) + m[0].length + 2000);
    const inner = after.replace(/^(?:\s|<!--[\s\S]*?-->)*/, "");
    if (inner.toLowerCase().startsWith(`</${tag}`)) {
      const id = /\bid\s*=\s*["']?([^"'\s>]+)/i.exec(m[0])?.[1];
      return id !== undefined ? `#${id}` : tag === "app-root" ? "<app-root>" : "[data-reactroot]";
    }
  }
  return undefined;
}

function noscriptAsksForJs(doc: string): boolean {
  for (const m of doc.matchAll(NOSCRIPT)) if (ENABLE_JS.test(m[1] ?? "")) return true;
  return false;
}

/**
 * True when the HTML declares shadow roots (`<template shadowrootmode>`): web components whose
 * content the browser composes into the page as it parses it. Plain HTTP reads their templates as
 * inert, so the default mode takes such a page to the browser; it is not a script-rendered shell, and
 * `scrapeMode: "fast"` keeps the page (without that content).
 */
export function hasDeclarativeShadowDom(html: string): boolean {
  const doc = html.length > NEEDS_BROWSER_SCAN_CHARS ? html.slice(0, NEEDS_BROWSER_SCAN_CHARS) : html;
  return /<template\b[^>]*?(?<![\w-])shadowroot(?:mode)?\s*=/i.test(doc);
}

/**
 * True when the HTML is a script-rendered shell (empty framework root, hydration
 * data with no server-rendered text, a noscript "enable JavaScript" page, almost
 * no text but scripts) or navigates away by meta refresh / JavaScript. Static
 * articles and product pages give false. Only the first
 * {@link NEEDS_BROWSER_SCAN_CHARS} characters are inspected.
 */
export function needsBrowser(html: string): NeedsBrowserResult {
  const doc = html.length > NEEDS_BROWSER_SCAN_CHARS ? html.slice(0, NEEDS_BROWSER_SCAN_CHARS) : html;
  if (metaRefreshRedirect(doc)) return { browser: true, reason: "meta refresh redirect" };
  const scripts = scanScripts(doc);
  if (scripts.jsRedirect) return { browser: true, reason: "JavaScript redirect" };
  if (scripts.executable === 0) return { browser: false };

  // Every threshold below is under EMPTY_ROOT_MAX_TEXT, so the scan can stop past it
  // (with headroom: the limit counts text before the final whitespace collapse).
  const textLength = roughVisibleText(doc, 2 * EMPTY_ROOT_MAX_TEXT).length;
  const root = emptyRoot(doc);
  if (root !== undefined && textLength < EMPTY_ROOT_MAX_TEXT) {
    return { browser: true, reason: `empty ${root} element; content is rendered by scripts` };
  }
  if (textLength < SCRIPT_SHELL_MAX_TEXT) {
    for (const [marker, name] of HYDRATION_MARKERS) {
      if (marker.test(doc)) return { browser: true, reason: `${name} without server-rendered content` };
    }
  }
  if (textLength < 500 && noscriptAsksForJs(doc)) {
    return { browser: true, reason: "noscript says JavaScript is required and the page has little text" };
  }
  if (textLength < SCRIPT_SHELL_MAX_TEXT) {
    return {
      browser: true,
      reason: `almost no visible text (${textLength} chars) with ${scripts.executable} script(s)`,
    };
  }
  // Heavy script payloads around a thin skeleton (nav and footer only).
  if (textLength < 1000 && doc.length > 50_000 && textLength / doc.length < 0.005) {
    return { browser: true, reason: `visible text is ${textLength} chars of a ${doc.length}-char page` };
  }
  return { browser: false };
}
