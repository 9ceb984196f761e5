/**
 * What the scraper may reach. SSRF protection is on by default: private,
 * loopback, link-local and other non-public addresses are refused unless the
 * operator opts in, either wholesale or per host.
 */
export interface NetworkPolicy {
  /** When true every resolvable address is allowed (trusted, single-tenant deployments). */
  allowPrivateNetwork: boolean;
  /**
   * Exact exceptions allowed even when private addresses are refused:
   * `hostname` (any port) or `hostname:port`; IPv6 literals in brackets,
   * e.g. `127.0.0.1:4567`, `intranet.corp`, `[::1]:8080`.
   */
  allowHosts: string[];
}

export const DEFAULT_NETWORK_POLICY: Readonly<NetworkPolicy> = Object.freeze({
  allowPrivateNetwork: false,
  allowHosts: [],
});

/**
 * Canonical host form used for every comparison: the WHATWG URL host parser
 * (the same one Chromium uses), so `0x7f.1`, `2130706433` and `127.0.0.1`
 * compare equal and letter case / trailing dots do not matter. Brackets are
 * stripped from IPv6 literals. Returns undefined for unparseable hosts.
 */
export function normaliseHost(host: string): string | undefined {
  let h = host.trim();
  if (h === "") return undefined;
  // A bare IPv6 literal (as in CONNECT targets after bracket stripping) needs brackets to parse.
  if (h.includes(":") && !h.startsWith("[")) h = `[${h}]`;
  let parsed: string;
  try {
    parsed = new URL(`http://${h}/`).hostname;
  } catch {
    return undefined;
  }
  if (parsed === "") return undefined;
  if (parsed.startsWith("[") && parsed.endsWith("]")) parsed = parsed.slice(1, -1);
  return parsed.endsWith(".") ? parsed.slice(0, -1) : parsed;
}

interface HostException {
  host: string;
  port: number | undefined;
}

function parseException(entry: string): HostException | undefined {
  const e = entry.trim();
  let hostPart = e;
  let portPart: string | undefined;
  if (e.startsWith("[")) {
    const close = e.indexOf("]");
    if (close < 0) return undefined;
    hostPart = e.slice(0, close + 1);
    const rest = e.slice(close + 1);
    if (rest.startsWith(":")) portPart = rest.slice(1);
    else if (rest !== "") return undefined;
  } else if (e.split(":").length === 2) {
    // Exactly one colon: hostname:port. More than one: a bare IPv6 literal without port.
    const i = e.indexOf(":");
    hostPart = e.slice(0, i);
    portPart = e.slice(i + 1);
  }
  const host = normaliseHost(hostPart);
  if (host === undefined) return undefined;
  if (portPart === undefined) return { host, port: undefined };
  if (!/^\d{1,5}$/.test(portPart)) return undefined;
  const port = Number(portPart);
  return port > 0 && port < 65536 ? { host, port } : undefined;
}

/**
 * True when `hostname[:port]` is listed in `policy.allowHosts`. Malformed
 * entries never match (fail closed rather than widen the exception).
 */
export function isHostAllowedByException(policy: NetworkPolicy, hostname: string, port?: number): boolean {
  if (policy.allowHosts.length === 0) return false;
  const host = normaliseHost(hostname);
  if (host === undefined) return false;
  for (const entry of policy.allowHosts) {
    const ex = parseException(entry);
    if (ex === undefined || ex.host !== host) continue;
    if (ex.port === undefined || ex.port === port) return true;
  }
  return false;
}
