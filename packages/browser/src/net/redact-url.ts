/**
 * A URL as it may be logged: no user name or password, and no query values (signed links,
 * tokens and keys travel there); the path stays, so a log still says where a request went.
 * Anything that does not parse as an absolute URL (a `host:port` CONNECT target, a bare path) keeps
 * only its part before `?`.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const at = url.indexOf("?");
    return at < 0 ? url : `${url.slice(0, at)}?[redacted]`;
  }
  parsed.username = "";
  parsed.password = "";
  parsed.hash = "";
  const query = parsed.search !== "";
  parsed.search = "";
  return query ? `${parsed.toString()}?[redacted]` : parsed.toString();
}
