import { createGunzip } from "node:zlib";
import type { NetworkPolicy } from "@orbweaver/browser";
import { guardedRequest } from "./guarded-request.ts";
import type { SideRequest } from "./side-requests.ts";

/** Cap on a sitemap's bytes, compressed as read and (gzipped ones) inflated. */
export const SITEMAP_MAX_BYTES = 5 * 1024 * 1024;
const SITEMAP_TIMEOUT_MS = 10_000;
/** Sitemap files read per crawl (index files count), and URLs taken from them. */
const MAX_SITEMAP_FILES = 6;
export const MAX_SITEMAP_URLS = 1000;

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeXml(text: string): string {
  return text
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, "$1")
    .replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => ENTITIES[name] ?? "")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .trim();
}

/** `<loc>` values of a sitemap (or sitemap index) document, and whether it is an index. */
export function parseSitemap(xml: string): { index: boolean; locs: string[] } {
  const locs = [...xml.matchAll(/<loc>([\s\S]*?)<\/loc>/gi)].map((m) => decodeXml(m[1] ?? "")).filter(Boolean);
  return { index: /<sitemapindex[\s>]/i.test(xml), locs };
}

/**
 * Page URLs listed by the given sitemaps, in document order, following sitemap indexes one level.
 * Unreachable or malformed sitemaps are skipped (a sitemap only seeds the crawl; links still work).
 */
export async function readSitemaps(opts: {
  urls: string[];
  policy: NetworkPolicy;
  log: { debug(obj: object, msg: string): void };
  /** How the sitemaps are fetched (a proxied crawl's go through its proxy). Default: directly. */
  request?: SideRequest;
}): Promise<string[]> {
  const pages: string[] = [];
  const queue = [...opts.urls];
  const seen = new Set<string>();
  let files = 0;
  while (queue.length > 0 && files < MAX_SITEMAP_FILES && pages.length < MAX_SITEMAP_URLS) {
    const url = queue.shift() ?? "";
    if (seen.has(url)) continue;
    seen.add(url);
    files++;
    try {
      const res = await (opts.request ?? guardedRequest)({
        url,
        policy: opts.policy,
        timeoutMs: SITEMAP_TIMEOUT_MS,
        maxBytes: SITEMAP_MAX_BYTES,
        maxRedirects: 3,
      });
      if (res.status < 200 || res.status >= 300) continue;
      const body = isGzip(res.body) ? await gunzipCapped(res.body, SITEMAP_MAX_BYTES) : res.body;
      const { index, locs } = parseSitemap(body.toString("utf8"));
      if (index) queue.push(...locs);
      else pages.push(...locs.slice(0, MAX_SITEMAP_URLS - pages.length));
    } catch (err) {
      opts.log.debug({ err, url }, "sitemap unavailable");
    }
  }
  return pages;
}

/**
 * A gzipped sitemap: `sitemap.xml.gz` as usually served (as a file, without Content-Encoding), or any
 * other body that starts with the gzip magic bytes 1f 8b. A `.gz` name on plain XML is read as text.
 */
function isGzip(body: Buffer): boolean {
  return body[0] === 0x1f && body[1] === 0x8b;
}

/**
 * Inflates a gzipped body, stopping at `maxBytes` of output (a gzip bomb inflates no further than
 * that): the document is cut there, as an uncompressed one is cut when read. A body cut short (its
 * compressed form was over the read cap) gives what inflated before the cut.
 */
export async function gunzipCapped(body: Buffer, maxBytes: number): Promise<Buffer> {
  const gunzip = createGunzip();
  const chunks: Buffer[] = [];
  let size = 0;
  gunzip.end(body);
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= maxBytes) break; // leaving the loop destroys the stream: nothing more is inflated
    }
  } catch (err) {
    if (chunks.length === 0) throw err;
  } finally {
    gunzip.destroy();
  }
  return Buffer.concat(chunks).subarray(0, maxBytes);
}
