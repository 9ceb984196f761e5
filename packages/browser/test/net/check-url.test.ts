import type { LookupAddress } from "node:dns";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkTargetUrl, createGuardedLookup, createPinnedLookup } from "../../src/net/check-url.ts";
import type { LookupFn } from "../../src/net/check-url.ts";
import { isHostAllowedByException } from "../../src/net/network-policy.ts";
import type { NetworkPolicy } from "../../src/net/network-policy.ts";

const strict: NetworkPolicy = { allowPrivateNetwork: false, allowHosts: [] };
const open: NetworkPolicy = { allowPrivateNetwork: true, allowHosts: [] };

// Simulated DNS: names -> answers; anything else is NXDOMAIN.
const ZONE: Record<string, LookupAddress[]> = {
  "public.test": [{ address: "93.184.215.14", family: 4 }],
  "dual.test": [
    { address: "2606:4700:4700::1111", family: 6 },
    { address: "1.1.1.1", family: 4 },
  ],
  "private.test": [{ address: "10.0.0.5", family: 4 }],
  "metadata.test": [{ address: "169.254.169.254", family: 4 }],
  "mixed.test": [
    { address: "93.184.215.14", family: 4 },
    { address: "127.0.0.1", family: 4 },
  ],
  "mapped.test": [{ address: "::ffff:127.0.0.1", family: 6 }],
  "intranet.corp": [{ address: "10.1.2.3", family: 4 }],
};
const lookup: LookupFn = async (host) => {
  const a = ZONE[host];
  if (a === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
  return a;
};

type Row = [
  string,
  NetworkPolicy,
  "ok" | "INVALID_URL" | "UNSUPPORTED_SCHEME" | "FORBIDDEN_ADDRESS" | "HOST_NOT_FOUND",
  string?,
];

const ROWS: Row[] = [
  ["https://public.test/a?b=1#c", strict, "ok"],
  ["http://dual.test", strict, "ok"],
  ["http://8.8.8.8/", strict, "ok"],
  ["http://[2606:4700:4700::1111]/", strict, "ok"],
  ["not a url", strict, "INVALID_URL"],
  ["/relative/path", strict, "INVALID_URL"],
  ["ftp://public.test/", strict, "UNSUPPORTED_SCHEME"],
  ["file:///etc/passwd", strict, "UNSUPPORTED_SCHEME"],
  ["javascript:alert(1)", strict, "UNSUPPORTED_SCHEME"],
  ["data:text/html,hi", strict, "UNSUPPORTED_SCHEME"],
  ["ws://public.test/", strict, "UNSUPPORTED_SCHEME"],
  ["http://nxdomain.test/", strict, "HOST_NOT_FOUND"],
  ["http://127.0.0.1/", strict, "FORBIDDEN_ADDRESS", "127.0.0.1 is a loopback address"],
  ["http://2130706433/", strict, "FORBIDDEN_ADDRESS", "127.0.0.1 is a loopback address"],
  ["http://0x7f.1/", strict, "FORBIDDEN_ADDRESS", "127.0.0.1 is a loopback address"],
  ["http://0x7f000001/", strict, "FORBIDDEN_ADDRESS", "127.0.0.1 is a loopback address"],
  ["http://0177.0.0.1/", strict, "FORBIDDEN_ADDRESS", "127.0.0.1 is a loopback address"],
  ["http://127.1/", strict, "FORBIDDEN_ADDRESS", "127.0.0.1 is a loopback address"],
  ["http://0/", strict, "FORBIDDEN_ADDRESS", "0.0.0.0 is an unspecified address"],
  ["http://[::1]:8080/", strict, "FORBIDDEN_ADDRESS", "::1 is a loopback address"],
  ["http://[::ffff:127.0.0.1]/", strict, "FORBIDDEN_ADDRESS", "loopback"],
  ["http://[::ffff:a9fe:a9fe]/", strict, "FORBIDDEN_ADDRESS", "link-local"],
  ["http://169.254.169.254/latest/meta-data/", strict, "FORBIDDEN_ADDRESS", "169.254.169.254 is a link-local address"],
  ["http://[fd00:ec2::254]/", strict, "FORBIDDEN_ADDRESS", "unique-local"],
  ["http://10.0.0.1/", strict, "FORBIDDEN_ADDRESS", "private"],
  ["http://192.168.0.1/", strict, "FORBIDDEN_ADDRESS", "private"],
  ["http://100.64.0.1/", strict, "FORBIDDEN_ADDRESS", "carrier-grade NAT"],
  ["http://localhost/", strict, "FORBIDDEN_ADDRESS", "localhost is a loopback name"],
  ["http://LOCALHOST./", strict, "FORBIDDEN_ADDRESS", "localhost is a loopback name"],
  ["http://api.localhost:3000/", strict, "FORBIDDEN_ADDRESS", "api.localhost is a loopback name"],
  [
    "http://private.test/",
    strict,
    "FORBIDDEN_ADDRESS",
    "private.test resolves to a private address, which is not allowed",
  ],
  ["http://metadata.test/", strict, "FORBIDDEN_ADDRESS", "metadata.test resolves to a link-local address"],
  [
    "http://mixed.test/",
    strict,
    "FORBIDDEN_ADDRESS",
    "mixed.test resolves to a loopback address, which is not allowed",
  ],
  ["http://mapped.test/", strict, "FORBIDDEN_ADDRESS", "mapped.test resolves to a loopback address"],
  // Credentials are allowed, but never confuse the host check.
  ["http://user:pass@public.test/", strict, "ok"],
  ["http://public.test@127.0.0.1/", strict, "FORBIDDEN_ADDRESS", "127.0.0.1 is a loopback address"],
  ["http://public.test:80@127.0.0.1/", strict, "FORBIDDEN_ADDRESS", "loopback"],
  // allowPrivateNetwork lets everything resolvable through.
  ["http://127.0.0.1/", open, "ok"],
  ["http://localhost/", open, "HOST_NOT_FOUND"], // only resolved via the fake zone here
  ["http://private.test/", open, "ok"],
  ["http://mixed.test/", open, "ok"],
  ["http://nxdomain.test/", open, "HOST_NOT_FOUND"],
  ["gopher://127.0.0.1/", open, "UNSUPPORTED_SCHEME"],
  // allowHosts exceptions
  ["http://127.0.0.1:4567/x", { allowPrivateNetwork: false, allowHosts: ["127.0.0.1:4567"] }, "ok"],
  ["http://2130706433:4567/x", { allowPrivateNetwork: false, allowHosts: ["127.0.0.1:4567"] }, "ok"],
  ["http://127.0.0.1:4568/x", { allowPrivateNetwork: false, allowHosts: ["127.0.0.1:4567"] }, "FORBIDDEN_ADDRESS"],
  ["http://127.0.0.2:4567/x", { allowPrivateNetwork: false, allowHosts: ["127.0.0.1:4567"] }, "FORBIDDEN_ADDRESS"],
  ["http://intranet.corp/", { allowPrivateNetwork: false, allowHosts: ["intranet.corp"] }, "ok"],
  ["https://INTRANET.corp./", { allowPrivateNetwork: false, allowHosts: ["intranet.corp:443"] }, "ok"],
  ["http://intranet.corp/", { allowPrivateNetwork: false, allowHosts: ["intranet.corp:443"] }, "FORBIDDEN_ADDRESS"],
  ["http://[::1]:9000/", { allowPrivateNetwork: false, allowHosts: ["[::1]:9000"] }, "ok"],
];

describe("checkTargetUrl", () => {
  it.each(ROWS)("%s -> %s %s", async (url, policy, code, reason) => {
    const res = await checkTargetUrl(url, policy, { lookup });
    if (code === "ok") {
      expect(res).toEqual({ ok: true, url: new URL(url).href });
      return;
    }
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.code).toBe(code);
    expect(res.reason.length).toBeGreaterThan(0);
    if (reason !== undefined) expect(res.reason).toContain(reason);
  });

  it("never names the address a host name resolved to (a literal IP in the URL is named)", async () => {
    // What an internal name maps to is not the caller's business: the refusal says the kind of range only.
    for (const host of ["private.test", "metadata.test", "mixed.test", "mapped.test"]) {
      const res = await checkTargetUrl(`http://${host}/`, strict, { lookup });
      expect(res.ok).toBe(false);
      if (res.ok) continue;
      expect(res.code).toBe("FORBIDDEN_ADDRESS");
      expect(res.reason).toMatch(
        new RegExp(`^${host.replace(".", "\\.")} resolves to an? [a-z-]+ address, which is not allowed$`),
      );
      for (const a of ZONE[host] ?? []) {
        expect(res.reason).not.toContain(a.address);
        // `::ffff:127.0.0.1` embeds 127.0.0.1: neither form may appear.
        expect(res.reason).not.toContain(a.address.replace(/^::ffff:/, ""));
      }
    }
    const literal = await checkTargetUrl("http://10.0.0.5/", strict, { lookup });
    expect(literal).toMatchObject({ ok: false, reason: "10.0.0.5 is a private address" });
  });

  it("returns the normalised URL", async () => {
    expect(await checkTargetUrl("  HTTP://Public.TEST:80/a/../b  ", strict, { lookup })).toEqual({
      ok: true,
      url: "http://public.test/b",
    });
  });

  it("uses the system resolver by default (localhost refused without DNS)", async () => {
    const res = await checkTargetUrl("http://localhost:1/", strict);
    expect(res).toMatchObject({ ok: false, code: "FORBIDDEN_ADDRESS" });
  });
});

describe("isHostAllowedByException", () => {
  const p: NetworkPolicy = {
    allowPrivateNetwork: false,
    allowHosts: ["127.0.0.1:4567", "svc.internal", "[fd00::1]:80", "::2", "bad:port:x:"],
  };
  it.each([
    ["127.0.0.1", 4567, true],
    ["127.0.0.1", 80, false],
    ["svc.internal", 1, true],
    ["SVC.internal.", 65535, true],
    ["other.internal", 1, false],
    ["[fd00::1]", 80, true],
    ["fd00::1", 80, true],
    ["fd00::1", 81, false],
    ["::2", 5, true],
  ] as const)("%s:%s -> %s", (host, port, expected) => {
    expect(isHostAllowedByException(p, host, port)).toBe(expected);
  });
});

describe("guarded and pinned lookups", () => {
  let server: net.Server;
  let port = 0;
  let accepted = 0;
  beforeAll(async () => {
    server = net.createServer((s) => {
      accepted++;
      s.end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const connect = (lookupFn: net.LookupFunction, host: string) =>
    new Promise<void>((resolve, reject) => {
      const s = net.connect({ host, port, lookup: lookupFn });
      s.on("connect", () => {
        s.destroy();
        resolve();
      });
      s.on("error", reject);
    });

  it("refuses a name resolving to loopback with ERR_FORBIDDEN_ADDRESS, before connecting", async () => {
    const before = accepted;
    const guarded = createGuardedLookup(strict, { lookup: async () => [{ address: "127.0.0.1", family: 4 }] });
    await expect(connect(guarded, "rebind.test")).rejects.toMatchObject({
      code: "ERR_FORBIDDEN_ADDRESS",
      // The error reaches the job's caller: the kind of address, not which one the name maps to.
      message: "rebind.test resolves to a loopback address, which is not allowed",
    });
    expect(accepted).toBe(before);
  });

  it("connects to the checked address when the policy allows it", async () => {
    const guarded = createGuardedLookup(strict, { port, lookup: async () => [{ address: "127.0.0.1", family: 4 }] });
    const allowed = createGuardedLookup(
      { allowPrivateNetwork: false, allowHosts: [`ok.test:${port}`] },
      { port, lookup: async () => [{ address: "127.0.0.1", family: 4 }] },
    );
    await expect(connect(guarded, "ok.test")).rejects.toMatchObject({ code: "ERR_FORBIDDEN_ADDRESS" });
    await connect(allowed, "ok.test");
  });

  it("reports unknown names as ENOTFOUND", async () => {
    const guarded = createGuardedLookup(strict, { lookup });
    await expect(connect(guarded, "nxdomain.test")).rejects.toMatchObject({ code: "ENOTFOUND" });
  });

  it("works as a dns.lookup drop-in (callback and all:true shapes)", async () => {
    const guarded = createGuardedLookup(strict, { lookup });
    const one = await new Promise((res) =>
      guarded("dual.test", {}, (err, address, family) => res({ err, address, family })),
    );
    expect(one).toEqual({ err: null, address: "2606:4700:4700::1111", family: 6 });
    const v4 = await new Promise((res) =>
      guarded("dual.test", { family: 4 }, (err, address, family) => res({ err, address, family })),
    );
    expect(v4).toEqual({ err: null, address: "1.1.1.1", family: 4 });
    const all = await new Promise((res) => guarded("dual.test", { all: true }, (err, addresses) => res(addresses)));
    expect(all).toEqual(ZONE["dual.test"]);
  });

  it("pinned lookup ignores the name and returns only the checked addresses", async () => {
    const pinned = createPinnedLookup([{ address: "127.0.0.1", family: 4 }]);
    await connect(pinned, "anything.example");
  });
});
