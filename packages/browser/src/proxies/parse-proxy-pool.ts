import { ISO_COUNTRY_CODES } from "./country-codes.ts";

/** One upstream proxy from the pool setting. */
export interface ProxyEntry {
  /** Lowercase ISO-2 exit country; undefined = unspecified, used only for `global` requests. */
  country: string | undefined;
  /**
   * Normalised URL handed to the egress proxy (`resolveUpstream`): scheme, optional
   * `user:pass@` (percent-encoded), host, explicit port, nothing else.
   * `socks5://` becomes `socks5h://`, see parseProxyPool.
   */
  url: string;
  /** `url` with the password replaced by `***`, for logs and error messages. */
  label: string;
}

export class ProxyPoolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProxyPoolError";
  }
}

const DEFAULT_PORTS: Record<string, string> = { "http:": "80", "https:": "443", "socks5:": "1080", "socks5h:": "1080" };

/** `url` with its password masked; unparseable input is masked from the first `:` after `//`. */
export function redactProxyUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    // Special schemes (http, https) always serialise a "/" path; a proxy URL has none.
    return u.pathname === "/" && u.search === "" && u.hash === "" ? u.href.slice(0, -1) : u.href;
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, "//$1:***@");
  }
}

function entryError(entry: string, why: string): ProxyPoolError {
  return new ProxyPoolError(`Invalid proxy entry "${redactProxyUrl(entry)}": ${why}`);
}

function parseEntry(entry: string): ProxyEntry {
  // `country=URL`: the prefix before "=" has no ":" or "/", unlike any URL.
  const m = /^([^=:/]+)=(.*)$/.exec(entry);
  const country = m?.[1]?.toLowerCase();
  const rawUrl = m?.[2] ?? entry;
  if (country !== undefined && !ISO_COUNTRY_CODES.has(country)) {
    throw entryError(entry, `"${m?.[1] ?? ""}" is not an ISO 3166-1 alpha-2 country code (eu/global are request-side)`);
  }
  let u: URL;
  try {
    u = new URL(rawUrl);
  } catch {
    throw entryError(entry, "not a URL (expected scheme://[user:pass@]host:port)");
  }
  if (!(u.protocol in DEFAULT_PORTS)) {
    throw entryError(entry, `unsupported scheme ${u.protocol.replace(":", "")} (use http, https or socks5)`);
  }
  if (u.hostname === "") throw entryError(entry, "missing host");
  if ((u.pathname !== "" && u.pathname !== "/") || u.search !== "" || u.hash !== "") {
    throw entryError(entry, "a proxy URL has no path, query or fragment");
  }
  // Remote DNS for SOCKS: the exit resolves names in its own country (geo-correct
  // CDN answers) and the name is not looked up a second time locally.
  const protocol = u.protocol === "socks5:" ? "socks5h:" : u.protocol;
  const port = u.port !== "" ? u.port : (DEFAULT_PORTS[u.protocol] ?? "");
  const auth = u.username !== "" || u.password !== "" ? `${u.username}:${u.password}@` : "";
  const url = `${protocol}//${auth}${u.hostname}:${port}`;
  return { country, url, label: redactProxyUrl(url) };
}

/**
 * Parses the proxy pool setting: entries separated by commas, whitespace or
 * newlines, each `country=URL` or just `URL` (no country: usable only when a
 * request asks for no particular country). Schemes: http, https, socks5
 * (normalised to socks5h, i.e. the proxy resolves names), with optional
 * `user:pass@` credentials; reserved characters in them (`,` `@` `:` …) must be
 * percent-encoded. A missing port becomes the scheme default (80, 443, 1080).
 * Exact duplicates are dropped. Empty spec = empty pool.
 *
 * @example parseProxyPool("us=http://u:p@proxy-us:8080, de=socks5://proxy-de:1080, http://any:3128")
 * @throws ProxyPoolError naming the offending entry (password masked).
 */
export function parseProxyPool(spec: string): ProxyEntry[] {
  const seen = new Set<string>();
  const out: ProxyEntry[] = [];
  for (const entry of spec.split(/[\s,]+/)) {
    if (entry === "") continue;
    const e = parseEntry(entry);
    const key = `${e.country ?? ""} ${e.url}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out;
}
