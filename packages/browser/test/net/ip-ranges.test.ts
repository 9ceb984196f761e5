import { describe, expect, it } from "vitest";
import { classifyAddress } from "../../src/net/ip-ranges.ts";

// [address, expected range substring]
const FORBIDDEN: Array<[string, string]> = [
  // IPv4
  ["0.0.0.0", "unspecified"],
  ["0.1.2.3", "unspecified"],
  ["127.0.0.1", "loopback"],
  ["127.255.255.254", "loopback"],
  ["10.0.0.1", "private"],
  ["10.255.255.255", "private"],
  ["172.16.0.1", "private"],
  ["172.31.255.255", "private"],
  ["192.168.1.1", "private"],
  ["169.254.0.1", "link-local"],
  ["169.254.169.254", "link-local"],
  ["100.64.0.1", "carrier-grade NAT"],
  ["100.127.255.255", "carrier-grade NAT"],
  ["192.0.0.8", "IETF protocol assignment"],
  ["192.0.2.1", "documentation"],
  ["198.51.100.7", "documentation"],
  ["203.0.113.9", "documentation"],
  ["198.18.0.1", "benchmarking"],
  ["198.19.255.255", "benchmarking"],
  ["192.88.99.1", "6to4 relay"],
  ["224.0.0.1", "multicast"],
  ["239.255.255.250", "multicast"],
  ["240.0.0.1", "reserved"],
  ["255.255.255.255", "broadcast"],
  // IPv6
  ["::", "unspecified"],
  ["::1", "loopback"],
  ["[::1]", "loopback"],
  ["fe80::1", "link-local"],
  ["fe80::1%eth0", "link-local"],
  ["febf:ffff::1", "link-local"],
  ["fc00::1", "unique-local"],
  ["fd00::1", "unique-local"],
  ["fd00:ec2::254", "unique-local"],
  ["fec0::1", "site-local"],
  ["ff02::1", "multicast"],
  ["100::1", "discard-only"],
  ["2001:db8::1", "documentation"],
  ["3fff::1", "documentation"],
  ["2001:2::1", "IETF protocol assignment"],
  ["2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"],
  ["64:ff9b:1::1", "NAT64 local-use"],
  ["4000::1", "non-global IPv6"],
  // IPv4-mapped / translated / compatible: classified by the embedded IPv4
  ["::ffff:127.0.0.1", "loopback (IPv4-mapped 127.0.0.1)"],
  ["::ffff:7f00:1", "loopback (IPv4-mapped 127.0.0.1)"],
  ["::ffff:10.1.2.3", "private (IPv4-mapped"],
  ["::ffff:169.254.169.254", "link-local (IPv4-mapped"],
  ["::ffff:0.0.0.0", "unspecified (IPv4-mapped"],
  ["::ffff:0:192.168.0.1", "private (IPv4-translated"],
  ["::127.0.0.1", "IPv4-compatible"],
  ["::8.8.8.8", "IPv4-compatible"],
  // NAT64 well-known prefix embeds the IPv4 target
  ["64:ff9b::7f00:1", "loopback (NAT64 127.0.0.1)"],
  ["64:ff9b::a9fe:a9fe", "link-local (NAT64 169.254.169.254)"],
  ["64:ff9b::192.168.0.1", "private (NAT64"],
  // 6to4 embeds the IPv4 in bits 16..48
  ["2002:7f00:1::1", "loopback (6to4 127.0.0.1)"],
  ["2002:c0a8:101::", "private (6to4 192.168.1.1)"],
  ["2002:a9fe:a9fe::1", "link-local (6to4"],
  // garbage fails closed
  ["not-an-ip", "invalid"],
  ["", "invalid"],
];

const ALLOWED: Array<[string, string]> = [
  ["8.8.8.8", "public"],
  ["1.1.1.1", "public"],
  ["93.184.215.14", "public"],
  ["172.32.0.1", "public"],
  ["100.128.0.1", "public"],
  ["192.31.196.1", "public"], // AS112 anycast is a real public service
  ["2606:4700:4700::1111", "public"],
  ["2001:4860:4860::8888", "public"],
  ["::ffff:8.8.8.8", "public (IPv4-mapped 8.8.8.8)"],
  ["64:ff9b::808:808", "public (NAT64 8.8.8.8)"],
  ["2002:808:808::1", "public (6to4 8.8.8.8)"],
];

describe("classifyAddress", () => {
  it.each(FORBIDDEN)("forbids %s (%s)", (ip, range) => {
    const c = classifyAddress(ip);
    expect(c.forbidden).toBe(true);
    expect(c.range).toContain(range);
  });

  it.each(ALLOWED)("allows %s (%s)", (ip, range) => {
    const c = classifyAddress(ip);
    expect(c.forbidden).toBe(false);
    expect(c.range).toBe(range);
  });
});

describe("classifyAddress input forms", () => {
  it.each(["0x7f.1", "2130706433", "0177.0.0.1", "127.1", "1.2.3.4.5", "::ffff:1.2.3"])(
    "fails closed on non-canonical %s",
    (ip) => {
      expect(classifyAddress(ip)).toEqual({ forbidden: true, range: "invalid", kind: "invalid" });
    },
  );
});
