/*
 * Charset selection follows the HTML spec's order, simplified: byte order
 * mark, then the Content-Type charset, then a <meta> prescan of the head (as
 * Chromium scans it), then a guess (valid UTF-8 stays UTF-8, anything else is
 * read as windows-1252, which is what browsers do for legacy Western pages).
 * TextDecoder applies the WHATWG label table, so "iso-8859-1" and "latin1"
 * mean windows-1252 as in Chromium; its windows-1252 decoder is mended by
 * `decodeBytes` (Node 20's reads 0x80-0x9F as C1 controls, losing € and curly quotes).
 */

/**
 * The <meta charset> prescan reads at least this much (the spec's 1024 bytes), and goes on as long
 * as it is still in the head, as Chromium's does (a charset after a large inline style is honoured).
 */
export const META_PRESCAN_BYTES = 1024;
/** Where the head-long prescan gives up however long the head is. */
export const META_PRESCAN_MAX_BYTES = 512 * 1024;

const HTML_TYPES = new Set(["text/html", "application/xhtml+xml"]);

/** `text/html` from `Text/HTML; charset=UTF-8`; "" when absent. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

export function isHtmlMediaType(type: string): boolean {
  return HTML_TYPES.has(type);
}

/** Text formats of `application/` besides those named `+json` and `+xml` (feeds, JSON-LD, SOAP...). */
const TEXT_APPLICATION_TYPES = new Set([
  "application/json",
  "application/xml",
  "application/x-ndjson",
  "application/javascript",
  "application/ecmascript",
  "application/yaml",
  "application/x-yaml",
  "application/toml",
]);

/**
 * A text document that is not HTML: plain text, CSV, Markdown, JSON (an API's answer), XML (an RSS or
 * Atom feed, a sitemap), YAML. A scrape returns its text as it is, where a browser would show it in a
 * viewer of its own (Chromium's XML tree adds a banner, its JSON view a toolbar).
 */
export function isTextMediaType(type: string): boolean {
  // An event stream never ends: it is not a document.
  if (isHtmlMediaType(type) || type === "text/event-stream") return false;
  return (
    type.startsWith("text/") || TEXT_APPLICATION_TYPES.has(type) || /^application\/[\w.-]+\+(?:json|xml)$/.test(type)
  );
}

/**
 * An XML document whose root is XHTML's `<html>` (a page served as `application/xml` or `text/xml`,
 * which browsers render as a page): read as a page, not returned as its source.
 */
export function isXhtmlDocument(text: string): boolean {
  return XHTML_ROOT.test(text.slice(0, 4096));
}

const XHTML_ROOT =
  /^\ufeff?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--[\s\S]*?-->\s*)*(?:<!DOCTYPE[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*)*<html\b[^>]*\bxmlns\s*=\s*["']http:\/\/www\.w3\.org\/1999\/xhtml["']/i;

/** Types that say nothing of what a body is (a file server's default); a `.pdf` path sent as one may be a PDF. */
export function isOctetStreamMediaType(type: string): boolean {
  return OCTET_STREAM_TYPES.has(type);
}

const OCTET_STREAM_TYPES = new Set(["application/octet-stream", "binary/octet-stream", "application/download"]);

/** A PDF's media type. */
export function isPdfMediaType(type: string): boolean {
  return type === "application/pdf" || type === "application/x-pdf";
}

/** Does the body start as a PDF file does (`%PDF-`, after a BOM or white space at most)? */
export function looksLikePdf(bytes: Uint8Array): boolean {
  return /^(?:\xef\xbb\xbf)?\s*%PDF-/.test(Buffer.from(bytes.subarray(0, 64)).toString("latin1"));
}

/**
 * For responses without Content-Type: does the body start like markup? Chromium's sniffer
 * (`net/base/mime_sniffer.cc`) tags, followed by a space or ">", and a few more ours always took.
 */
export function looksLikeHtml(text: string): boolean {
  const head = text
    .slice(0, 1024)
    .replace(/^\ufeff/, "")
    .trimStart()
    .toLowerCase();
  // Chromium's tags need a space or ">" after them; the prefixes ours always took (`<!--x`, `<meta`) do not.
  return (
    /^<(?:iframe|h1|font|table|a|style|b|br)(?:[\s>]|$)/.test(head) ||
    /^<(?:!doctype html|html|head|body|!--|meta|title|div|p\b|script|link)/.test(head)
  );
}

/**
 * For responses without Content-Type that are not markup: bytes a text file never has (Chromium's
 * `LooksLikeBinary`: control characters other than tab, line feeds, form feed and escape), past a BOM.
 */
export function looksLikeBinary(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, 1024);
  if (bomEncoding(head) !== undefined) return false;
  for (const b of head) {
    if (b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f)) return true;
  }
  return false;
}

function supported(label: string): string | undefined {
  try {
    return new TextDecoder(label).encoding;
  } catch {
    return undefined;
  }
}

function bomEncoding(b: Uint8Array): string | undefined {
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return "utf-8";
  if (b[0] === 0xfe && b[1] === 0xff) return "utf-16be";
  if (b[0] === 0xff && b[1] === 0xfe) return "utf-16le";
  return undefined;
}

function headerCharset(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*["']?([^"';\s]+)/i.exec(contentType ?? "");
  return m?.[1] === undefined ? undefined : supported(m[1]);
}

/**
 * The encoding an ASCII-readable declaration in the first `limit` bytes names (`re`'s first group),
 * if this platform knows it. latin1 maps bytes 1:1, so the declaration reads the same whatever the
 * real charset; for the same reason it cannot truthfully name UTF-16, which then means UTF-8.
 */
function declaredCharset(b: Uint8Array, limit: number, re: RegExp): string | undefined {
  const prefix = Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, limit)).toString("latin1");
  const m = re.exec(prefix);
  if (m?.[1] === undefined) return undefined;
  const enc = supported(m[1]);
  return enc?.startsWith("utf-16") ? "utf-8" : enc;
}

/** Elements whose content the prescan skips (a `<meta>` inside is text, not a declaration). */
const PRESCAN_RAW_TEXT = new Set([
  "script",
  "style",
  "title",
  "textarea",
  "xmp",
  "iframe",
  "noembed",
  "noframes",
  "noscript",
]);
/** Elements that keep the prescan in the head (Chromium's `HTMLMetaCharsetParser`). */
const PRESCAN_HEAD_TAGS = new Set(["script", "noscript", "style", "link", "meta", "object", "title", "base"]);

/** Index of the `>` ending the tag opened at `lt`, skipping quoted attribute values; -1 when none. */
function tagEnd(s: string, lt: number): number {
  for (let i = lt + 1; i < s.length; i++) {
    const c = s[i];
    if (c === ">") return i;
    if (c !== "=") continue;
    let j = i + 1;
    while (s[j] === " " || s[j] === "\t" || s[j] === "\n" || s[j] === "\r" || s[j] === "\f") j++;
    const q = s[j];
    if (q === '"' || q === "'") {
      const close = s.indexOf(q, j + 1);
      if (close < 0) return -1;
      i = close;
    }
  }
  return -1;
}

/** The charset a `<meta>` tag declares: `charset=x`, or `content="...; charset=x"` with `http-equiv=content-type`. */
function charsetOfMeta(tag: string): string | undefined {
  let pragma = false;
  let charset: string | undefined;
  let fromContent = false;
  const attr = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
  for (const m of tag.slice(5).matchAll(attr)) {
    const name = (m[1] ?? "").toLowerCase();
    const value = m[2] ?? m[3] ?? m[4] ?? "";
    if (name === "http-equiv") {
      if (value.trim().toLowerCase() === "content-type") pragma = true;
    } else if (charset === undefined && name === "charset") {
      charset = value;
    } else if (charset === undefined && name === "content") {
      charset = /charset\s*=\s*["']?\s*([^"';\s]+)/i.exec(value)?.[1];
      fromContent = charset !== undefined;
    }
  }
  if (charset === undefined || (fromContent && !pragma)) return undefined;
  const enc = supported(charset.trim());
  // A document that reads as ASCII cannot truthfully declare UTF-16; the spec reads it as UTF-8.
  return enc?.startsWith("utf-16") ? "utf-8" : enc;
}

/**
 * <meta charset=x> or <meta http-equiv="Content-Type" content="text/html; charset=x">, found as
 * Chromium finds it: tags read in order, comments and the content of scripts, styles and titles
 * skipped, and the scan going on past {@link META_PRESCAN_BYTES} for as long as only head elements
 * have been seen (up to {@link META_PRESCAN_MAX_BYTES}). latin1 maps bytes 1:1, so the declaration
 * reads the same whatever the real charset.
 */
function metaCharset(b: Uint8Array): string | undefined {
  const s = Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, META_PRESCAN_MAX_BYTES)).toString("latin1");
  const lower = s.toLowerCase();
  let inHead = true;
  let i = 0;
  while (i < s.length && (inHead || i < META_PRESCAN_BYTES)) {
    const lt = s.indexOf("<", i);
    if (lt < 0) return undefined;
    if (s.startsWith("<!--", lt)) {
      const close = s.indexOf("-->", lt + 4);
      if (close < 0) return undefined;
      i = close + 3;
      continue;
    }
    const open = /^<(\/?)([a-z][^\s/>]*)/i.exec(s.slice(lt, lt + 64));
    const gt = open ? tagEnd(s, lt) : s.indexOf(">", lt + 1);
    if (gt < 0) return undefined;
    i = gt + 1;
    // "<!doctype>", "<?xml>", a stray "<": no element.
    if (!open) continue;
    const end = open[1] === "/";
    const name = (open[2] ?? "").toLowerCase();
    if (!end && name === "meta") {
      const found = charsetOfMeta(s.slice(lt, gt));
      if (found !== undefined) return found;
    }
    if (!end && PRESCAN_RAW_TEXT.has(name) && s[gt - 1] !== "/") {
      const close = lower.indexOf(`</${name}`, i);
      i = close < 0 ? s.length : close;
    }
    if (!PRESCAN_HEAD_TAGS.has(name) && !(name === "html" && !end) && !(name === "head" && !end)) inHead = false;
  }
  return undefined;
}

function isValidUtf8(b: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

/** windows-1252's 0x80-0x9F (the five it leaves unassigned map to the same C1 control, as in the WHATWG table). */
const WINDOWS_1252_HIGH =
  "\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f" +
  "\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178";

/**
 * Decodes `bytes` as `charset` (a WHATWG name); malformed sequences become U+FFFD. windows-1252
 * (which "iso-8859-1", "latin1" and "ascii" mean) is mended after TextDecoder: Node 20's reads
 * 0x80-0x9F as C1 controls where the WHATWG table and Chromium have €, curly quotes, dashes, "…".
 */
export function decodeBytes(bytes: Uint8Array, charset: string): string {
  const text = new TextDecoder(charset).decode(bytes);
  if (charset !== "windows-1252") return text;
  return text.replace(/[\u0080-\u009f]/g, (c) => WINDOWS_1252_HIGH[c.charCodeAt(0) - 0x80] ?? c);
}

/** The encoding (WHATWG name) the bytes should be decoded with. */
export function chooseCharset(bytes: Uint8Array, contentType: string | undefined): string {
  return htmlCharset(bytes, contentType).charset;
}

/** {@link chooseCharset}, and whether it is a guess (nothing declared it and the bytes are not UTF-8). */
function htmlCharset(bytes: Uint8Array, contentType: string | undefined): { charset: string; guessed: boolean } {
  const declared = bomEncoding(bytes) ?? headerCharset(contentType) ?? metaCharset(bytes);
  if (declared !== undefined) return { charset: declared, guessed: false };
  return isValidUtf8(bytes) ? { charset: "utf-8", guessed: false } : { charset: "windows-1252", guessed: true };
}

/**
 * Decodes a text document (see {@link isTextMediaType}): byte order mark, then the Content-Type
 * charset, then an XML document's declared encoding, then UTF-8 when the bytes are valid UTF-8
 * (JSON's only encoding), else windows-1252. No <meta> prescan: markup inside a text document is text.
 */
export function decodeText(bytes: Uint8Array, contentType: string | undefined): string {
  const charset =
    bomEncoding(bytes) ??
    headerCharset(contentType) ??
    (isXmlMediaType(mediaType(contentType)) ? xmlDeclaredCharset(bytes) : undefined) ??
    (isValidUtf8(bytes) ? "utf-8" : "windows-1252");
  return decodeBytes(bytes, charset);
}

function isXmlMediaType(type: string): boolean {
  return type === "application/xml" || type === "text/xml" || type.endsWith("+xml");
}

/** The encoding an XML declaration names (`<?xml version="1.0" encoding="windows-1251"?>`), as RFC 7303 reads it. */
function xmlDeclaredCharset(b: Uint8Array): string | undefined {
  return declaredCharset(b, 200, /^\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([a-z0-9_:.-]+)["']/i);
}

/**
 * Decodes an HTML body to a string; malformed sequences become U+FFFD rather than failing. `guessed`
 * when nothing declared the charset (no BOM, header or <meta>) and the bytes are not UTF-8: read as
 * windows-1252, where Chromium guesses from the bytes (a Shift_JIS, GBK or windows-1251 page).
 */
export function decodeHtml(
  bytes: Uint8Array,
  contentType: string | undefined,
): { html: string; charset: string; guessed: boolean } {
  const { charset, guessed } = htmlCharset(bytes, contentType);
  // TextDecoder strips a BOM matching its encoding, so callers never see U+FEFF.
  return { html: decodeBytes(bytes, charset), charset, guessed };
}
