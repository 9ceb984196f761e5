import { describe, expect, it } from "vitest";
import { CarryCookies } from "../../src/fetch/carry-cookies.ts";

const u = (s: string): URL => new URL(s);

describe("CarryCookies", () => {
  it("sends the caller's cookies within the starting site only", () => {
    const jar = new CarryCookies("a=1; b=2", u("https://www.shop.example/p"));
    expect(jar.headerFor(u("https://shop.example/x"))).toBe("a=1; b=2");
    expect(jar.headerFor(u("https://cdn.shop.example/x"))).toBe("a=1; b=2");
    expect(jar.headerFor(u("https://evil.example/x"))).toBeUndefined();
    expect(jar.headerFor(u("http://127.0.0.1/x"))).toBeUndefined();
  });

  it("keeps cookies set by a hop for that host only, replacing the caller's value", () => {
    const jar = new CarryCookies("a=1", u("https://shop.example/"));
    jar.store(u("https://shop.example/login"), ["a=9; Path=/; HttpOnly", "sid=xyz; Secure"]);
    expect(jar.headerFor(u("https://shop.example/next"))).toBe("a=9; sid=xyz");
    expect(jar.headerFor(u("https://www.shop.example/next"))).toBe("a=1");
  });

  it("forgets cookies a hop expires", () => {
    const jar = new CarryCookies(undefined, u("https://shop.example/"));
    jar.store(u("https://shop.example/"), ["t=1", "u=2"]);
    jar.store(u("https://shop.example/"), ["t=; Max-Age=0", "u=; Expires=Thu, 01 Jan 1970 00:00:00 GMT"]);
    expect(jar.headerFor(u("https://shop.example/"))).toBeUndefined();
  });
});
