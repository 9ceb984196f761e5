import net from "node:net";
import ipaddr from "ipaddr.js";

export interface AddressClass {
  /** True when a scrape must not connect here under the default policy. */
  forbidden: boolean;
  /**
   * Human-readable range name, e.g. "loopback", "private", "public"; for an IPv6 form embedding an
   * IPv4 address it names that address too: "loopback (IPv4-mapped 127.0.0.1)".
   */
  range: string;
  /**
   * The range's name alone ("loopback"), never an address: what a message about a host name may say
   * without telling the caller which internal address that name maps to.
   */
  kind: string;
}

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

function table(rows: Array<[string, string]>): Array<[Cidr, string]> {
  return rows.map(([cidr, name]) => [ipaddr.parseCIDR(cidr), name]);
}

// IANA IPv4 special-purpose registry, minus the globally reachable anycast
// blocks (AS112, AMT) which are legitimate public services.
const IPV4_FORBIDDEN = table([
  ["0.0.0.0/8", "unspecified"],
  ["10.0.0.0/8", "private"],
  ["100.64.0.0/10", "carrier-grade NAT"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["172.16.0.0/12", "private"],
  ["192.0.0.0/24", "IETF protocol assignment"],
  ["192.0.2.0/24", "documentation (TEST-NET-1)"],
  ["192.88.99.0/24", "6to4 relay anycast"],
  ["192.168.0.0/16", "private"],
  ["198.18.0.0/15", "benchmarking"],
  ["198.51.100.0/24", "documentation (TEST-NET-2)"],
  ["203.0.113.0/24", "documentation (TEST-NET-3)"],
  ["224.0.0.0/4", "multicast"],
  ["255.255.255.255/32", "broadcast"],
  ["240.0.0.0/4", "reserved"],
]);

// IPv6 blocks refused outright. Blocks that embed an IPv4 address
// (mapped, NAT64, 6to4) are handled separately so a public embedded v4 passes.
const IPV6_FORBIDDEN = table([
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  // Deprecated IPv4-compatible form; some stacks still route ::a.b.c.d to a.b.c.d.
  ["::/96", "IPv4-compatible"],
  ["64:ff9b:1::/48", "NAT64 local-use"],
  ["100::/64", "discard-only"],
  // Teredo tunnels through UDP relays to an embedded client address; no web host needs it.
  ["2001::/32", "Teredo"],
  ["2001:db8::/32", "documentation"],
  ["2001::/23", "IETF protocol assignment"],
  ["3fff::/20", "documentation"],
  ["5f00::/16", "SRv6 SID"],
  ["fc00::/7", "unique-local"],
  ["fe80::/10", "link-local"],
  ["fec0::/10", "site-local"],
  ["ff00::/8", "multicast"],
]);

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR("2000::/3");

const EMBEDDED_V4: Array<[Cidr, string, (v6: ipaddr.IPv6) => ipaddr.IPv4]> = [
  [ipaddr.parseCIDR("::ffff:0:0/96"), "IPv4-mapped", (v6) => lastV4(v6)],
  // SIIT IPv4-translated (RFC 6145), same trailing-32-bit layout.
  [ipaddr.parseCIDR("::ffff:0:0:0/96"), "IPv4-translated", (v6) => lastV4(v6)],
  [ipaddr.parseCIDR("64:ff9b::/96"), "NAT64", (v6) => lastV4(v6)],
  [ipaddr.parseCIDR("2002::/16"), "6to4", (v6) => v4FromParts(v6.parts[1] ?? 0, v6.parts[2] ?? 0)],
];

function v4FromParts(hi: number, lo: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

function lastV4(v6: ipaddr.IPv6): ipaddr.IPv4 {
  return v4FromParts(v6.parts[6] ?? 0, v6.parts[7] ?? 0);
}

function classifyV4(v4: ipaddr.IPv4): AddressClass {
  for (const [cidr, name] of IPV4_FORBIDDEN) {
    if (v4.match(cidr)) return { forbidden: true, range: name, kind: name };
  }
  return { forbidden: false, range: "public", kind: "public" };
}

function classifyV6(v6: ipaddr.IPv6): AddressClass {
  // Embedded-v4 forms first: these reach (or are translated to) the IPv4 host,
  // so the IPv4 rules decide. `::ffff:127.0.0.1` is loopback, not "public v6".
  for (const [cidr, name, extract] of EMBEDDED_V4) {
    if (!v6.match(cidr)) continue;
    const v4 = extract(v6);
    const inner = classifyV4(v4);
    return { forbidden: inner.forbidden, range: `${inner.range} (${name} ${v4.toString()})`, kind: inner.kind };
  }
  for (const [cidr, name] of IPV6_FORBIDDEN) {
    if (v6.match(cidr)) return { forbidden: true, range: name, kind: name };
  }
  // Everything outside 2000::/3 is unallocated or special; nothing public lives there.
  if (!v6.match(GLOBAL_UNICAST_V6)) return { forbidden: true, range: "non-global IPv6", kind: "non-global IPv6" };
  return { forbidden: false, range: "public", kind: "public" };
}

/**
 * Canonical IPv6 text via the WHATWG host parser. Needed because ipaddr.js
 * 2.5 mis-parses `::a.b.c.d` (IPv4-compatible) as `::ffff:a.b.c.d` (mapped),
 * which would classify `::8.8.8.8` as the public 8.8.8.8.
 */
function canonicalV6(raw: string): string | undefined {
  const noZone = raw.split("%")[0] ?? "";
  try {
    const h = new URL(`http://[${noZone}]/`).hostname;
    return h.slice(1, -1);
  } catch {
    return undefined;
  }
}

/**
 * Classifies a literal IP address: dotted-quad IPv4, or IPv6 (optionally
 * bracketed, optional zone id). Anything else is forbidden, including
 * shorthand IPv4 like `0x7f.1`: callers pass resolved or URL-normalised
 * addresses, so an odd form means something is wrong and failing closed is safe.
 */
export function classifyAddress(ip: string): AddressClass {
  const raw = ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
  const kind = net.isIP(raw);
  if (kind === 4) return classifyV4(ipaddr.IPv4.parse(raw));
  if (kind === 6) {
    const canon = canonicalV6(raw);
    if (canon !== undefined && ipaddr.IPv6.isValid(canon)) return classifyV6(ipaddr.IPv6.parse(canon));
  }
  return { forbidden: true, range: "invalid", kind: "invalid" };
}

/** "a loopback", "an unspecified": keeps refusal messages grammatical. */
export function describeRange(range: string): string {
  return /^[aeiouAEIOU]/.test(range) ? `an ${range}` : `a ${range}`;
}
