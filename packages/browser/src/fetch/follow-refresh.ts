/*
 * A `Refresh: 0; url=...` header or an immediate `<meta http-equiv="refresh">` is a redirect to
 * Chromium, which navigates before anything is read; the plain-HTTP path follows it as one, so a
 * redirect stub is never kept as the page. A delayed refresh is not followed (the page is shown
 * until then); a meta tag inside <noscript>, a script, a comment or a template is no declaration
 * (a browser runs scripts, so "no JavaScript? go here" never fires).
 */

/** Delays under this many seconds count as a redirect. */
const IMMEDIATE_S = 1;
/** How much of the document is searched for the meta tag. */
const SCAN_CHARS = 256 * 1024;

const INERT = /<!--[\s\S]*?(?:-->|$)|<(script|noscript|style|template|textarea|title|xmp)\b[\s\S]*?(?:<\/\1\s*>|$)/gi;
const META_REFRESH = /<meta\b[^>]*?\bhttp-equiv\s*=\s*["']?\s*refresh\b[^>]*>/i;

/** The URL an immediate refresh value (`0; url='/next'`) names, or undefined (delayed, or reloading itself). */
export function parseRefresh(value: string): string | undefined {
  const m = /^\s*(\d*(?:\.\d*)?)\s*(?:[;,]\s*)?(?:url\s*=\s*)?([\s\S]*)$/i.exec(value);
  if (m === null) return undefined;
  const delay = m[1] === "" || m[1] === "." ? 0 : Number(m[1]);
  if (!(delay < IMMEDIATE_S)) return undefined;
  let target = (m[2] ?? "").trim();
  const quote = target[0];
  if (quote === '"' || quote === "'") {
    const close = target.indexOf(quote, 1);
    target = target.slice(1, close < 0 ? undefined : close);
  }
  return target.trim() === "" ? undefined : target.trim();
}

function attribute(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, "i").exec(tag);
  return m === null ? undefined : (m[1] ?? m[2] ?? m[3] ?? "");
}

function decodeEntities(s: string): string {
  return s
    .replace(/&amp;/gi, "&")
    .replace(/&quot;/gi, '"')
    .replace(/&#39;|&apos;/gi, "'");
}

/**
 * Where an immediate refresh sends an HTML page: the `Refresh` header's URL, else the first
 * `<meta http-equiv="refresh">` outside inert content; undefined when there is none, it is delayed,
 * or it names no URL. The target is relative (resolve it against the page's URL).
 */
export function refreshTarget(header: string | undefined, html: string): string | undefined {
  if (header !== undefined && header.trim() !== "") return parseRefresh(header);
  const live = html.slice(0, SCAN_CHARS).replace(INERT, "");
  const tag = META_REFRESH.exec(live)?.[0];
  const content = tag === undefined ? undefined : attribute(tag, "content");
  return content === undefined ? undefined : parseRefresh(decodeEntities(content));
}
