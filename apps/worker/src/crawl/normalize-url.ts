/** Extensions of files that are not web pages; links to them are never followed. */
const NON_PAGE_EXTENSIONS = new Set(
  (
    "pdf zip gz tgz bz2 xz 7z rar tar jpg jpeg png gif webp avif svg ico bmp tif tiff mp3 mp4 m4a m4v " +
    "mov avi mkv webm ogg wav flac css js mjs json xml rss atom txt csv xls xlsx doc docx ppt pptx " +
    "odt ods dmg exe msi apk iso woff woff2 ttf otf eot"
  ).split(" "),
);

/** A link ready for the frontier: the URL to fetch and the key it is de-duplicated by. */
export interface NormalizedLink {
  /** The URL as linked, made absolute, without its fragment (what the browser loads). */
  url: string;
  /**
   * De-duplication key: no scheme (http and https are one page), lower-case host without a leading
   * `www.` (one site, as the crawl scope has it), no default port, no fragment, no trailing slash, a
   * trailing `/index.html` or `/index.htm` folded into its directory, sorted query (or none).
   */
  key: string;
  parsed: URL;
}

/**
 * Resolves `raw` against `base` and normalises it for the frontier. Returns null for anything that
 * is not an http(s) page: other schemes (mailto:, javascript:, tel:), unparseable links and links
 * to files such as PDFs or images (unless `anyPath`: a crawl loads the base URL it was given, and
 * fails it if it is not a page).
 */
export function normalizeLink(
  raw: string,
  opts: { base?: string; ignoreQueryParams: boolean; /** The crawl's own base URL: a file's too. */ anyPath?: boolean },
): NormalizedLink | null {
  let parsed: URL;
  try {
    parsed = new URL(raw.trim(), opts.base);
  } catch {
    return null;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return null;
  if (parsed.hostname === "" || parsed.username || parsed.password) return null;
  const last = parsed.pathname.split("/").pop() ?? "";
  const dot = last.lastIndexOf(".");
  if (!opts.anyPath && dot > 0 && NON_PAGE_EXTENSIONS.has(last.slice(dot + 1).toLowerCase())) return null;
  // WHATWG URL already lower-cases the host and drops default ports (:80 on http, :443 on https).
  parsed.hash = "";
  const url = parsed.href;
  return { url, key: urlKeyOf(parsed, opts.ignoreQueryParams), parsed };
}

/** The de-duplication key of an absolute URL (see {@link NormalizedLink.key}). */
export function urlKeyOf(url: URL, ignoreQueryParams: boolean): string {
  // `/docs/index.html` is the page `/docs/` serves (the usual directory index).
  const pathname = url.pathname.replace(/\/index\.html?$/, "/");
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, "") || "/" : "/";
  let query = "";
  if (!ignoreQueryParams && url.search.length > 1) {
    const params = [...new URLSearchParams(url.search)].sort(([a, av], [b, bv]) =>
      a === b ? av.localeCompare(bv) : a.localeCompare(b),
    );
    query = `?${new URLSearchParams(params).toString()}`;
  }
  const host = url.host.startsWith("www.") ? url.host.slice(4) : url.host;
  return `//${host}${path}${query}`;
}
