import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from "node:http";
import { CarryCookies, type CallerCookie } from "./carry-cookies.ts";
import {
  decodeHtml,
  decodeText,
  isHtmlMediaType,
  isOctetStreamMediaType,
  isPdfMediaType,
  isTextMediaType,
  isXhtmlDocument,
  looksLikeBinary,
  looksLikeHtml,
  looksLikePdf,
  mediaType,
} from "./decode-html.ts";
import { refreshTarget } from "./follow-refresh.ts";
import { ACCEPT_ENCODING, readBody } from "./read-body.ts";
import { sendViaProxy } from "./send-via-proxy.ts";

/*
 * The `scrapeMode: "fast"` path: one HTTP(S) GET without a browser. It goes
 * through the job's egress proxy like every browser request, so the SSRF
 * rule, upstream proxies and byte accounting apply unchanged, and every
 * redirect hop is a fresh proxied request (re-checked by the proxy).
 */

export interface FetchPageOptions {
  url: string;
  /** The egress proxy (`EgressProxy.url`); the fetch never connects anywhere else. */
  proxyUrl: string;
  /** Attribution tag for the egress proxy (Basic-auth username); must be non-empty, no ":". */
  tag: string;
  /** Deadline for the whole fetch, redirects and body included; sockets are destroyed when it passes. */
  timeoutMs: number;
  /** Cap on the body, on the wire and after decompression. Default {@link DEFAULT_FETCH_MAX_BYTES} (10 MB). */
  maxBytes?: number;
  /**
   * The caller's cookies as scoped to `url` (domain, secure; see `scopeCookies`), sent on every hop
   * where a browser would send them. Default: none.
   */
  cookies?: readonly CallerCookie[];
  /** Or a `Cookie` header, scoped to `url` as the browser path scopes cookies. Ignored with `cookies`. */
  cookieHeader?: string;
  /** Default {@link DEFAULT_FETCH_USER_AGENT}. */
  userAgent?: string;
  /** Redirects followed before giving up. Default {@link DEFAULT_FETCH_MAX_REDIRECTS} (10). */
  maxRedirects?: number;
  /** Extra trusted CA certificates (PEM) for https targets. Default: Node's bundled roots only. */
  ca?: string | string[];
  /**
   * Read a PDF (default true). False (a crawl, which collects pages) refuses one typed as PDF
   * before its body is read, as a `pdf` failure.
   */
  readPdf?: boolean;
}

export type FetchFailureKind =
  "blocked" | "timeout" | "too_large" | "network" | "unsupported_content" | "too_many_redirects" | "pdf";

interface Answered {
  ok: true;
  /** URL after redirects (fragment dropped). */
  finalUrl: string;
  /** The final response's status; 4xx/5xx pages are still returned (the caller decides). */
  status: number;
  /** Lower-cased names; repeated headers joined with ", " (Set-Cookie with "\n"). */
  headers: Record<string, string>;
}

export type FetchedPage =
  | (Answered & {
      /** `html` for an HTML page; `text` for a text document (JSON, plain text, XML...: `isTextMediaType`). */
      document: "html" | "text";
      /** The document: the HTML of a page, the decoded text of a text document. */
      html: string;
      /**
       * A page that declared no charset (no BOM, header charset or <meta>) and is not UTF-8, read
       * as windows-1252; Chromium guesses such a page's charset from its bytes (a Shift_JIS or
       * windows-1251 page), so the default mode takes it to the browser. Absent otherwise.
       */
      charsetGuessed?: true;
    })
  | (Answered & {
      /** A PDF file (by its type, or by its first bytes when sent untyped or as octet-stream from a `.pdf` path). */
      document: "pdf";
      bytes: Uint8Array;
    })
  | {
      ok: false;
      kind: FetchFailureKind;
      message: string;
      /** Status of the final response, when one arrived (e.g. unsupported_content, too_large). */
      status?: number;
      /** The URL being fetched when it failed. */
      finalUrl?: string;
    };

export const DEFAULT_FETCH_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_FETCH_MAX_REDIRECTS = 10;
/** A current desktop Chrome; an honest library UA is refused by far more sites. */
export const DEFAULT_FETCH_USER_AGENT =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

type Failure = Extract<FetchedPage, { ok: false }>;

function failure(kind: FetchFailureKind, message: string, extra: Partial<Failure> = {}): Failure {
  return { ok: false, kind, message, ...extra };
}

function flattenHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(h)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(name === "set-cookie" ? "\n" : ", ") : value;
  }
  return out;
}

/**
 * A header value as the server's bytes meant it: Node reads header bytes as latin1, while browsers
 * read a Location (or Refresh) of raw UTF-8 bytes as UTF-8 (`/café` sent unescaped).
 */
function headerText(value: string): string {
  if (!/[\x80-\xff]/.test(value)) return value;
  const bytes = Buffer.from(value, "latin1");
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return value;
  }
}

function parseHttpUrl(raw: string, base?: URL): URL | Failure {
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    return failure("network", base ? `invalid redirect Location ${JSON.stringify(raw)}` : "invalid URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    // A redirect to file:, data: or gopher: must never be followed; it is a refusal, not a glitch.
    return failure("blocked", `${base ? "redirect to " : ""}${url.protocol} URL refused; only http and https`);
  }
  url.hash = "";
  return url;
}

/**
 * Fetches one HTML page through the egress proxy, following redirects by hand.
 * Never throws for network conditions: every outcome is a {@link FetchedPage}.
 */
export async function fetchPage(opts: FetchPageOptions): Promise<FetchedPage> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Failure>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve(failure("timeout", `no complete response within ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
  });
  try {
    // The race returns at the deadline even if a step (decompression) is still busy.
    return await Promise.race([followRedirects(opts, controller.signal), deadline]);
  } catch (err) {
    if (controller.signal.aborted) return failure("timeout", `no complete response within ${opts.timeoutMs} ms`);
    return failure("network", (err as Error).message);
  } finally {
    clearTimeout(timer);
    // Destroys whatever is still open (a redirect body, an unread response).
    controller.abort();
  }
}

async function followRedirects(opts: FetchPageOptions, signal: AbortSignal): Promise<FetchedPage> {
  const maxBytes = opts.maxBytes ?? DEFAULT_FETCH_MAX_BYTES;
  const maxRedirects = opts.maxRedirects ?? DEFAULT_FETCH_MAX_REDIRECTS;
  let proxy: URL;
  try {
    proxy = new URL(opts.proxyUrl);
  } catch {
    return failure("network", "invalid egress proxy URL");
  }
  if (proxy.protocol !== "http:") return failure("network", "the egress proxy must be an http:// URL");

  const first = parseHttpUrl(opts.url);
  if (!(first instanceof URL)) return first;
  let url = first;
  const cookies = new CarryCookies(opts.cookies ?? opts.cookieHeader, url);

  // The page whose immediate refresh is being followed: where the network policy refuses the
  // refresh's destination, the browser's navigation is aborted and it stays on this page.
  let stub: FetchedPage | undefined;
  const refused = (f: Failure): FetchedPage => (f.kind === "blocked" && stub !== undefined ? stub : f);
  for (let redirects = 0; ; redirects++) {
    const headers: OutgoingHttpHeaders = {
      "user-agent": opts.userAgent ?? DEFAULT_FETCH_USER_AGENT,
      accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
      "accept-language": "en-US,en;q=0.9",
      "accept-encoding": ACCEPT_ENCODING,
    };
    const cookie = cookies.headerFor(url);
    if (cookie !== undefined) headers.cookie = cookie;

    const hop = await sendViaProxy({ url, proxy, tag: opts.tag, headers, signal, ca: opts.ca });
    if (signal.aborted) return failure("timeout", `no complete response within ${opts.timeoutMs} ms`);
    if (!hop.ok) return refused(failure(hop.kind, hop.message, { finalUrl: url.href }));

    const res = hop.response;
    const status = res.statusCode ?? 0;
    cookies.store(url, res.headers["set-cookie"]);
    const location = res.headers.location;
    if (REDIRECT_STATUSES.has(status) && location !== undefined && location !== "") {
      // The redirect body is never needed; closing the connection is cheaper than draining it.
      res.destroy();
      if (redirects >= maxRedirects) {
        return failure("too_many_redirects", `more than ${maxRedirects} redirects`, { finalUrl: url.href });
      }
      const next = parseHttpUrl(headerText(location), url);
      if (!(next instanceof URL)) return refused({ ...next, finalUrl: url.href });
      url = next;
      continue;
    }
    const page = await readPage(res, url, status, {
      maxBytes,
      signal,
      timeoutMs: opts.timeoutMs,
      readPdf: opts.readPdf ?? true,
    });
    // An immediate refresh (header or meta) is a redirect to Chromium: the stub is never the page.
    // Past maxRedirects, or towards a scheme that is not http(s), the stub is what there is.
    if (!page.ok || page.document !== "html" || redirects >= maxRedirects) return page;
    const refresh = refreshTarget(page.headers.refresh, page.html);
    const next = refresh === undefined ? undefined : parseHttpUrl(headerText(refresh), url);
    if (!(next instanceof URL) || next.href === url.href) return page;
    stub = page;
    url = next;
  }
}

async function readPage(
  res: IncomingMessage,
  url: URL,
  status: number,
  opts: { maxBytes: number; signal: AbortSignal; timeoutMs: number; readPdf: boolean },
): Promise<FetchedPage> {
  const { maxBytes, signal, timeoutMs } = opts;
  const contentType = res.headers["content-type"];
  const type = mediaType(contentType);
  const where = { status, finalUrl: url.href };
  // A PDF is a document, whether sent to show or to save; untyped bytes from a `.pdf` path may be one.
  const pdf = isPdfMediaType(type);
  if (pdf && !opts.readPdf) {
    res.destroy();
    return failure("pdf", `a PDF document (HTTP ${status})`, where);
  }
  const maybePdf = opts.readPdf && (pdf || (isOctetStreamMediaType(type) && /\.pdf$/i.test(url.pathname)));
  const text = isTextMediaType(type);
  // Any other file sent for saving is a download, refused like the browser refuses it (never read,
  // never stored); a text document (a CSV export) is read as one shown is.
  if (!maybePdf && !text && /^\s*attachment\b/i.test(res.headers["content-disposition"] ?? "")) {
    res.destroy();
    return failure(
      "unsupported_content",
      `the URL answered with a file download (Content-Disposition: attachment), not a page (HTTP ${status})`,
      where,
    );
  }
  // Checked before reading so a large file (an image, an archive) is not downloaded just to be refused.
  if (type !== "" && !isHtmlMediaType(type) && !text && !maybePdf) {
    res.destroy();
    return failure("unsupported_content", `${type} is not HTML (HTTP ${status})`, where);
  }
  const body = await readBody(res, maxBytes);
  if (signal.aborted) return failure("timeout", `no complete response within ${timeoutMs} ms`, where);
  if (!body.ok) return failure(body.kind, body.message, where);
  const page = { ok: true as const, finalUrl: url.href, status, headers: flattenHeaders(res.headers) };
  // A body typed as PDF is one even when damaged (the reader says why); an untyped one must look like it.
  if (pdf || ((maybePdf || type === "") && looksLikePdf(body.bytes))) {
    // Untyped, it could only be told by its bytes.
    if (!opts.readPdf) return failure("pdf", `a PDF document (HTTP ${status})`, where);
    return { ...page, document: "pdf", bytes: body.bytes };
  }
  if (maybePdf) return failure("unsupported_content", `${type} is not HTML (HTTP ${status})`, where);
  if (text) {
    const decoded = decodeText(body.bytes, contentType);
    return { ...page, document: isXhtmlDocument(decoded) ? "html" : "text", html: decoded };
  }
  // No Content-Type at all: sniffed as Chromium sniffs it. Markup (or nothing, an empty page) is a
  // page; other text is shown as plain text; binary bytes are a download.
  const sniffed = type === "" ? decodeHtml(body.bytes.subarray(0, 1024), undefined).html : "";
  if (sniffed.trim() !== "" && !looksLikeHtml(sniffed)) {
    if (looksLikeBinary(body.bytes)) {
      return failure("unsupported_content", `missing Content-Type and the body is not HTML (HTTP ${status})`, where);
    }
    return { ...page, document: "text", html: decodeText(body.bytes, contentType) };
  }
  const { html, guessed } = decodeHtml(body.bytes, contentType);
  return { ...page, document: "html", html, ...(guessed ? { charsetGuessed: true as const } : {}) };
}
