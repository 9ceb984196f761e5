import { describe, expect, it } from "vitest";
import type { ParsedCookie } from "../../src/cookies/check-cookie.ts";
import { parseCookieInput } from "../../src/cookies/parse-cookies.ts";
import { registrableDomain, scopeCookies, toPlaywrightCookies } from "../../src/cookies/scope-cookies.ts";

const domainsFor = (cookies: ParsedCookie[], url: string) =>
  toPlaywrightCookies(cookies, url).map((c) => [c.name, c.domain]);

describe("registrableDomain (Public Suffix List, private section included)", () => {
  it.each([
    ["shop.example.co.uk", "example.co.uk"],
    ["www.example.com", "example.com"],
    ["a.github.io", "a.github.io"],
    ["x.a.github.io", "a.github.io"],
    ["a.b.blogspot.com", "b.blogspot.com"],
    ["github.io", undefined],
    ["co.uk", undefined],
    ["localhost", undefined],
    ["intranet.corp", undefined],
    ["www.example.test", undefined],
    ["127.0.0.1", undefined],
    ["[::1]", undefined],
  ])("%s → %s", (host, expected) => {
    expect(registrableDomain(host)).toBe(expected);
  });
});

describe("scoping cookies without a domain", () => {
  const cookies = parseCookieInput({ header: "a=1; b=2" });

  it("uses the registrable domain (co.uk aware)", () => {
    expect(domainsFor(cookies, "https://shop.example.co.uk/p")).toEqual([
      ["a", ".example.co.uk"],
      ["b", ".example.co.uk"],
    ]);
  });

  it("keeps a github.io-style private suffix site to itself", () => {
    expect(domainsFor(cookies, "https://a.github.io/")).toEqual([
      ["a", ".a.github.io"],
      ["b", ".a.github.io"],
    ]);
  });

  it.each(["http://127.0.0.1:8080/", "http://localhost:3000/x", "http://[::1]/", "http://intranet.corp/"])(
    "is host-only on %s",
    (url) => {
      const host = new URL(url).hostname;
      expect(domainsFor(cookies, url)).toEqual([
        ["a", host],
        ["b", host],
      ]);
    },
  );

  it("sets path /, session expiry, secure only on https, SameSite Lax by default", () => {
    const [https] = toPlaywrightCookies(cookies, "https://example.com/deep/path");
    expect(https).toEqual({
      name: "a",
      value: "1",
      domain: ".example.com",
      path: "/",
      expires: -1,
      httpOnly: false,
      secure: true,
      sameSite: "Lax",
    });
    expect(toPlaywrightCookies(cookies, "http://example.com/")[0]?.secure).toBe(false);
  });

  it("gives non-http(s) targets no cookies", () => {
    expect(scopeCookies(cookies, "ftp://example.com/").cookies).toEqual([]);
  });
});

describe("cookies with an explicit domain", () => {
  const c = (name: string, domain: string, hostOnly = false): ParsedCookie => ({ name, value: "v", domain, hostOnly });

  it("keeps matching domains: same host, parent within the site, dotted = domain cookie", () => {
    const { cookies, dropped } = scopeCookies(
      [c("parent", "example.co.uk"), c("same", "shop.example.co.uk"), c("hostonly", "shop.example.co.uk", true)],
      "https://shop.example.co.uk/",
    );
    expect(cookies.map((k) => [k.name, k.domain])).toEqual([
      ["parent", ".example.co.uk"],
      ["same", ".shop.example.co.uk"],
      ["hostonly", "shop.example.co.uk"],
    ]);
    expect(dropped).toEqual([]);
  });

  it("drops cookies for other sites, subdomains of the target, public suffixes and other hosts' host-only cookies", () => {
    const { cookies, dropped } = scopeCookies(
      [
        c("other", "evil.com"),
        c("lookalike", "notexample.co.uk"),
        c("child", "api.shop.example.co.uk"),
        c("suffix", "co.uk"),
        c("sibling", "b.github.io"),
        c("hostonly-parent", "example.co.uk", true),
        c("ok", "example.co.uk"),
      ],
      "https://shop.example.co.uk/",
    );
    expect(cookies.map((k) => k.name)).toEqual(["ok"]);
    expect(dropped).toEqual([
      { name: "other", reason: "domain evil.com does not match shop.example.co.uk" },
      { name: "lookalike", reason: "domain notexample.co.uk does not match shop.example.co.uk" },
      { name: "child", reason: "domain api.shop.example.co.uk does not match shop.example.co.uk" },
      { name: "suffix", reason: "domain co.uk is a public suffix" },
      { name: "sibling", reason: "domain b.github.io does not match shop.example.co.uk" },
      { name: "hostonly-parent", reason: "host-only cookie for example.co.uk, not shop.example.co.uk" },
    ]);
  });

  it("a.github.io cookies never go to b.github.io, and github.io itself is refused as a domain", () => {
    const jar = [c("a", "a.github.io"), c("suffix", "github.io")];
    expect(domainsFor(jar, "https://b.github.io/")).toEqual([]);
    expect(scopeCookies(jar, "https://x.a.github.io/").dropped).toEqual([
      { name: "suffix", reason: "domain github.io is a public suffix" },
    ]);
    expect(domainsFor(jar, "https://x.a.github.io/")).toEqual([["a", ".a.github.io"]]);
  });

  it("IP targets only accept the exact IP (no suffix matching on addresses)", () => {
    expect(domainsFor([c("ip", "127.0.0.1"), c("bad", "0.0.1")], "http://127.0.0.1:9/")).toEqual([["ip", "127.0.0.1"]]);
    expect(domainsFor([c("ip", "127.0.0.1")], "http://localhost:9/")).toEqual([]);
  });
});

describe("attributes that depend on the scheme", () => {
  it("SameSite=None needs Secure: Lax on http, None on https", () => {
    const jar: ParsedCookie[] = [{ name: "n", value: "v", sameSite: "None", httpOnly: true }];
    expect(toPlaywrightCookies(jar, "http://example.com/")[0]).toMatchObject({ sameSite: "Lax", httpOnly: true });
    expect(toPlaywrightCookies(jar, "https://example.com/")[0]).toMatchObject({ sameSite: "None", secure: true });
  });

  it("__Secure- and __Host- cookies are dropped on http; __Host- is host-only on https", () => {
    const jar = parseCookieInput({ header: "__Secure-a=1; __Host-b=2; __host-c=3" });
    expect(scopeCookies(jar, "http://example.com/").dropped.map((d) => d.name)).toEqual([
      "__Secure-a",
      "__Host-b",
      "__host-c",
    ]);
    expect(domainsFor(jar, "https://www.example.com/")).toEqual([
      ["__Secure-a", ".example.com"],
      ["__Host-b", "www.example.com"],
      ["__host-c", "www.example.com"],
    ]);
  });
});
