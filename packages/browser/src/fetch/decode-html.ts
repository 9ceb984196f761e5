/*
 * Charset selection follows the HTML spec's order, simplified: byte order
 * mark, then the Content-Type charset, then a <meta> prescan of the first
 * bytes, then a guess (valid UTF-8 stays UTF-8, anything else is read as
 * windows-1252, which is what browsers do for legacy Western pages).
 * TextDecoder applies the WHATWG label table, so "iso-8859-1" and "latin1"
 * decode as windows-1252 exactly like in Chromium.
 */

/** How far the <meta charset> prescan looks (the spec says 1024; real pages put comments first). */
export const META_PRESCAN_BYTES = 4096;

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

/** For responses without Content-Type: does the body start like markup? */
export function looksLikeHtml(text: string): boolean {
  const head = text.slice(0, 1024).trimStart().toLowerCase();
  return /^(?:\ufeff)?<(?:!doctype html|html|head|body|!--|meta|title|div|p\b|script|link)/.test(head);
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

/** <meta charset=x> or <meta http-equiv="Content-Type" content="text/html; charset=x">. */
function metaCharset(b: Uint8Array): string | undefined {
  return declaredCharset(b, META_PRESCAN_BYTES, /<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([a-z0-9_:.-]+)/i);
}

function isValidUtf8(b: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

/** The encoding (WHATWG name) the bytes should be decoded with. */
export function chooseCharset(bytes: Uint8Array, contentType: string | undefined): string {
  return (
    bomEncoding(bytes) ??
    headerCharset(contentType) ??
    metaCharset(bytes) ??
    (isValidUtf8(bytes) ? "utf-8" : "windows-1252")
  );
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
  return new TextDecoder(charset).decode(bytes);
}

function isXmlMediaType(type: string): boolean {
  return type === "application/xml" || type === "text/xml" || type.endsWith("+xml");
}

/** The encoding an XML declaration names (`<?xml version="1.0" encoding="windows-1251"?>`), as RFC 7303 reads it. */
function xmlDeclaredCharset(b: Uint8Array): string | undefined {
  return declaredCharset(b, 200, /^\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([a-z0-9_:.-]+)["']/i);
}

/** Decodes an HTML body to a string; malformed sequences become U+FFFD rather than failing. */
export function decodeHtml(bytes: Uint8Array, contentType: string | undefined): { html: string; charset: string } {
  const charset = chooseCharset(bytes, contentType);
  // TextDecoder strips a BOM matching its encoding, so callers never see U+FEFF.
  return { html: new TextDecoder(charset).decode(bytes), charset };
}
