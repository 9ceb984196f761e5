import { describe, expect, it } from "vitest";
import { CarryCookies } from "../../src/fetch/carry-cookies.ts";

const u = (s: string): URL => new URL(s);

describe("CarryCookies", () => {
  it("sends the caller's cookies within the starting site only", () => {
    const jar = new CarryCookies("a=1; b=2", u("https://www.shop.example.com/p"));
    expect(jar.headerFor(u("https://shop.example.com/x"))).toBe("a=1; b=2");
    expect(jar.headerFor(u("https://cdn.shop.example.com/x"))).toBe("a=1; b=2");
    expect(jar.headerFor(u("https://evil-example.com/x"))).toBeUndefined();
    expect(jar.headerFor(u("https://evil.example/x"))).toBeUndefined();
    expect(jar.headerFor(u("http://127.0.0.1/x"))).toBeUndefined();
  });

  // As Chromium holds them on the browser path (scopeCookies): the fast path must not be looser.
  it("keeps an https site's cookies off a redirect down to http", () => {
    const jar = new CarryCookies("sid=1", u("https://shop.example.com/"));
    expect(jar.headerFor(u("https://shop.example.com/next"))).toBe("sid=1");
    expect(jar.headerFor(u("http://shop.example.com/next"))).toBeUndefined();
    expect(jar.headerFor(u("http://www.shop.example.com/"))).toBeUndefined();
    // Given for an http site they are not secure, and go over both.
    const plain = new CarryCookies("sid=1", u("http://shop.example.com/"));
    expect(plain.headerFor(u("https://shop.example.com/"))).toBe("sid=1");
  });

  it("treats private public suffixes and unknown TLDs as the browser does", () => {
    // github.io is a public suffix in the list's private section: a.github.io and b.github.io are two sites.
    const pages = new CarryCookies("sid=1", u("https://alice.github.io/"));
    expect(pages.headerFor(u("https://alice.github.io/blog"))).toBe("sid=1");
    expect(pages.headerFor(u("https://mallory.github.io/"))).toBeUndefined();
    expect(pages.headerFor(u("https://github.io/"))).toBeUndefined();
    // No registrable domain (an unknown TLD, an IP): host-only.
    const intranet = new CarryCookies("sid=1", u("http://wiki.corp/"));
    expect(intranet.headerFor(u("http://wiki.corp/x"))).toBe("sid=1");
    expect(intranet.headerFor(u("http://other.wiki.corp/"))).toBeUndefined();
    expect(
      new CarryCookies("sid=1", u("http://127.0.0.1:8080/")).headerFor(u("http://127.0.0.2:8080/")),
    ).toBeUndefined();
  });

  it("sends scoped cookies only where their domain matches", () => {
    const jar = new CarryCookies(
      [
        { name: "host", value: "1", domain: "shop.example.com", secure: false },
        { name: "dom", value: "2", domain: ".shop.example.com", secure: false },
        { name: "site", value: "3", domain: ".example.com", secure: true },
      ],
      u("https://shop.example.com/"),
    );
    expect(jar.headerFor(u("https://shop.example.com/"))).toBe("host=1; dom=2; site=3");
    expect(jar.headerFor(u("https://cdn.shop.example.com/"))).toBe("dom=2; site=3");
    expect(jar.headerFor(u("https://www.example.com/"))).toBe("site=3");
    expect(jar.headerFor(u("http://www.example.com/"))).toBeUndefined();
    expect(jar.headerFor(u("https://example.org/"))).toBeUndefined();
  });

  it("keeps cookies set by a hop for that host only, replacing the caller's value", () => {
    const jar = new CarryCookies("a=1", u("https://shop.example.com/"));
    jar.store(u("https://shop.example.com/login"), ["a=9; Path=/; HttpOnly", "sid=xyz; Secure"]);
    expect(jar.headerFor(u("https://shop.example.com/next"))).toBe("a=9; sid=xyz");
    expect(jar.headerFor(u("https://www.shop.example.com/next"))).toBe("a=1");
  });

  it("forgets cookies a hop expires", () => {
    const jar = new CarryCookies(undefined, u("https://shop.example/"));
    jar.store(u("https://shop.example/"), ["t=1", "u=2"]);
    jar.store(u("https://shop.example/"), ["t=; Max-Age=0", "u=; Expires=Thu, 01 Jan 1970 00:00:00 GMT"]);
    expect(jar.headerFor(u("https://shop.example/"))).toBeUndefined();
  });
});
