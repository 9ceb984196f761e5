import { describe, expect, it } from "vitest";
import { EU_COUNTRY_CODES, ISO_COUNTRY_CODES, isKnownCountryCode } from "../../src/proxies/country-codes.ts";
import { ProxyPoolError, createProxyPool, parseProxyPool, redactProxyUrl } from "../../src/proxies/proxy-pool.ts";

function poolError(spec: string): string {
  try {
    parseProxyPool(spec);
  } catch (e) {
    if (e instanceof ProxyPoolError) return e.message;
    throw e;
  }
  throw new Error("expected a ProxyPoolError");
}

describe("parseProxyPool", () => {
  it("parses the documented example", () => {
    expect(parseProxyPool("us=http://u:p@proxy-us:8080, de=socks5://proxy-de:1080, http://any:3128")).toEqual([
      { country: "us", url: "http://u:p@proxy-us:8080", label: "http://u:***@proxy-us:8080" },
      { country: "de", url: "socks5h://proxy-de:1080", label: "socks5h://proxy-de:1080" },
      { country: undefined, url: "http://any:3128", label: "http://any:3128" },
    ]);
  });

  it("accepts newlines/whitespace/commas, upper-case countries, https, socks5h, encoded credentials, default ports", () => {
    const entries = parseProxyPool(
      "\n  GB=https://user%40x:p%2Cw@gb.example\n fr=socks5h://u:p@[2001:db8::1]:9050,,\tsocks5://s.example \n",
    );
    expect(entries.map((e) => [e.country, e.url])).toEqual([
      ["gb", "https://user%40x:p%2Cw@gb.example:443"],
      ["fr", "socks5h://u:p@[2001:db8::1]:9050"],
      [undefined, "socks5h://s.example:1080"],
    ]);
  });

  it("drops exact duplicates but keeps one proxy listed for two countries", () => {
    expect(parseProxyPool("us=http://a:1 us=http://a:1 ca=http://a:1").map((e) => e.country)).toEqual(["us", "ca"]);
  });

  it("empty spec is an empty pool", () => {
    expect(parseProxyPool("")).toEqual([]);
    expect(parseProxyPool(" ,\n ")).toEqual([]);
  });

  it.each([
    ["us=ftp://h:21", /"us=ftp:\/\/h:21": unsupported scheme ftp/],
    ["xx=http://h:1", /"xx" is not an ISO 3166-1 alpha-2 country code/],
    ["eu=http://h:1", /"eu" is not an ISO 3166-1 alpha-2/],
    ["proxy-us:8080", /not a URL|unsupported scheme/],
    ["http://h:1/path", /no path, query or fragment/],
    ["http://h:1?x=1", /no path, query or fragment/],
    ["de=not a url", /"de=not": not a URL/],
  ])("rejects %j naming the entry", (spec, message) => {
    expect(poolError(spec)).toMatch(message);
  });

  it("masks passwords in errors and labels", () => {
    const msg = poolError("us=http://user:s3cret@h:1/x");
    expect(msg).toContain("user:***@");
    expect(msg).not.toContain("s3cret");
    expect(redactProxyUrl("socks5h://u:pw@h:1080")).toBe("socks5h://u:***@h:1080");
    expect(redactProxyUrl("garbage://u:pw@")).not.toContain("pw");
  });
});

describe("country codes", () => {
  it("has the 249 ISO codes, 27 EU states, plus eu/global as selectors", () => {
    expect(ISO_COUNTRY_CODES.size).toBe(249);
    expect(EU_COUNTRY_CODES).toHaveLength(27);
    expect(EU_COUNTRY_CODES.every((c) => ISO_COUNTRY_CODES.has(c))).toBe(true);
    for (const c of ["us", "de", "gb", "eu", "global", "gr"]) expect(isKnownCountryCode(c)).toBe(true);
    for (const c of ["uk", "el", "xx", "US", "", "asia"]) expect(isKnownCountryCode(c)).toBe(false);
  });
});

describe("createProxyPool", () => {
  const entries = parseProxyPool(
    "us=http://us1:1 us=http://us2:1 de=http://de1:1 fr=http://fr1:1 gb=http://gb1:1 http://any:1",
  );
  const host = (e: { url: string } | undefined) => (e === undefined ? undefined : new URL(e.url).hostname);

  it("picks by country, eu among the EU states, global/undefined among all", () => {
    const pool = createProxyPool(entries);
    expect(host(pool.pick("de"))).toBe("de1");
    expect(host(pool.pick("DE"))).toBe("de1");
    const eu = new Set(Array.from({ length: 6 }, () => host(pool.pick("eu"))));
    expect(eu).toEqual(new Set(["de1", "fr1"]));
    const all = new Set(Array.from({ length: 12 }, () => host(pool.pick())));
    expect(all).toEqual(new Set(["us1", "us2", "de1", "fr1", "gb1", "any"]));
    expect(host(pool.pick("global"))).toBeDefined();
    expect(pool.pick("jp")).toBeUndefined();
  });

  it("rotates round-robin within the candidates", () => {
    const pool = createProxyPool(entries);
    expect([1, 2, 3, 4].map(() => host(pool.pick("us")))).toEqual(["us1", "us2", "us1", "us2"]);
  });

  it("skips an entry while it cools down, then uses it again", () => {
    let t = 1000;
    const pool = createProxyPool(entries, { cooldownMs: 500, now: () => t });
    const us1 = entries[0];
    if (us1 === undefined) throw new Error("fixture");
    pool.markFailed(us1);
    expect([1, 2, 3].map(() => host(pool.pick("us")))).toEqual(["us2", "us2", "us2"]);
    t += 499;
    expect(host(pool.pick("us"))).toBe("us2");
    t += 1;
    expect(new Set([1, 2].map(() => host(pool.pick("us"))))).toEqual(new Set(["us1", "us2"]));
  });

  it("when every candidate cools down, returns the least recently failed", () => {
    let t = 0;
    const pool = createProxyPool(entries, { now: () => t });
    const [us1, us2] = entries;
    if (us1 === undefined || us2 === undefined) throw new Error("fixture");
    pool.markFailed(us2);
    t = 10;
    pool.markFailed(us1);
    t = 20;
    expect(host(pool.pick("us"))).toBe("us2");
    expect(host(pool.pick("us"))).toBe("us2");
    // A fresh failure of us2 makes us1 the older one.
    pool.markFailed(us2);
    expect(host(pool.pick("us"))).toBe("us1");
  });

  it("cools down by URL, so a copy of the entry or the same proxy under another country counts", () => {
    const shared = parseProxyPool("us=http://same:1 ca=http://same:1 ca=http://ca2:1");
    const pool = createProxyPool(shared);
    pool.markFailed({ ...shared[0], country: "us", url: "http://same:1", label: "x" });
    expect(host(pool.pick("ca"))).toBe("ca2");
  });

  it("country-less entries only serve global requests", () => {
    const pool = createProxyPool(parseProxyPool("http://any:1"));
    expect(pool.pick("us")).toBeUndefined();
    expect(pool.supports("us")).toBe(false);
    expect(host(pool.pick())).toBe("any");
  });

  it("reports countries and support", () => {
    const pool = createProxyPool(entries);
    expect(pool.countries()).toEqual(["de", "fr", "gb", "us"]);
    expect(pool.supports("us")).toBe(true);
    expect(pool.supports("eu")).toBe(true);
    expect(pool.supports("global")).toBe(true);
    expect(pool.supports("it")).toBe(false);
    expect(createProxyPool(parseProxyPool("us=http://a:1")).supports("eu")).toBe(false);
    expect(createProxyPool([]).supports("global")).toBe(false);
    expect(createProxyPool([]).pick()).toBeUndefined();
  });
});
