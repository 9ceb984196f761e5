import { describe, expect, it } from "vitest";
import { CookieParseError, MAX_COOKIES } from "../../src/cookies/check-cookie.ts";
import { parseCookieInput } from "../../src/cookies/parse-cookies.ts";

const TAB = "\t";
const row = (...cells: string[]) => cells.join(TAB);
const HEADER = row(
  "Name",
  "Value",
  "Domain",
  "Path",
  "Expires / Max-Age",
  "Size",
  "HttpOnly",
  "Secure",
  "SameSite",
  "Partition Key Site",
  "Cross Site",
  "Priority",
);

function parseError(fn: () => unknown): CookieParseError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CookieParseError) return e;
    throw e;
  }
  throw new Error("expected a CookieParseError");
}

describe("name=value strings", () => {
  it("splits on ';', trims, keeps '=' inside values and skips empty names/parts", () => {
    expect(parseCookieInput({ header: " sid = abc ; token=a=b==;;  =orphan; theme=dark " })).toEqual([
      { name: "sid", value: "abc" },
      { name: "token", value: "a=b==" },
      { name: "theme", value: "dark" },
    ]);
  });

  it("accepts empty values, quoted values verbatim, newlines and a pasted 'Cookie:' prefix", () => {
    expect(parseCookieInput({ header: 'Cookie: a=; b="x y"\nc=%20' })).toEqual([
      { name: "a", value: "" },
      { name: "b", value: '"x y"' },
      { name: "c", value: "%20" },
    ]);
  });

  it("treats empty input as no cookies (contract: '' = absent)", () => {
    expect(parseCookieInput({ header: "" })).toEqual([]);
    expect(parseCookieInput({ header: "   " })).toEqual([]);
    expect(parseCookieInput({})).toEqual([]);
  });

  it("the last of two same-named cookies wins", () => {
    expect(parseCookieInput({ header: "a=1; b=2; a=3" })).toEqual([
      { name: "b", value: "2" },
      { name: "a", value: "3" },
    ]);
  });

  it.each([
    ["sid=abc; HttpOnly", /"HttpOnly" has no "="/],
    ["=x; =y", /no name=value pair/],
    ["a=b\u0000c", /value of cookie "a" contains ';' or control characters/],
    ["a\u0007b=1", /cookie name "a\?b=1"|cookie name "a\?b"/],
    [`big=${"x".repeat(5000)}`, /longer than 4096 bytes/],
  ])("rejects %j with a clear CookieParseError", (header, message) => {
    const err = parseError(() => parseCookieInput({ header }));
    expect(err.message).toMatch(message);
    expect(err.code).toBe("INVALID_COOKIES");
  });

  it("never echoes long values into the error", () => {
    const err = parseError(() => parseCookieInput({ header: `secret${"s".repeat(100)}` }));
    expect(err.message.length).toBeLessThan(200);
  });

  it("rejects more cookies than Chromium keeps for one domain", () => {
    const header = Array.from({ length: MAX_COOKIES + 1 }, (_, i) => `c${i}=v`).join("; ");
    expect(parseError(() => parseCookieInput({ header })).message).toMatch(/too many cookies/);
  });

  it("rejects non-string input at runtime", () => {
    expect(parseError(() => parseCookieInput({ header: 42 as unknown as string })).message).toMatch(/must be a string/);
  });
});

describe("DevTools Application → Cookies table", () => {
  it("parses rows under the header, keeping domain (dot = domain cookie), HttpOnly and SameSite", () => {
    const text = [
      HEADER,
      row("sid", "abc==", ".example.com", "/", "2030-01-01T00:00:00.000Z", "8", "✓", "✓", "Lax", "", "", "Medium"),
      row("pref", "x=1&y=2", "www.example.com", "/", "Session", "10", "", "", "", "", "", "Medium"),
      row("track", "t", "example.com", "/", "Session", "6", "", "✓", "None", "", "", "Low"),
    ].join("\n");
    expect(parseCookieInput({ header: text })).toEqual([
      { name: "sid", value: "abc==", domain: "example.com", hostOnly: false, httpOnly: true, sameSite: "Lax" },
      { name: "pref", value: "x=1&y=2", domain: "www.example.com", hostOnly: true },
      { name: "track", value: "t", domain: "example.com", hostOnly: true, sameSite: "None" },
    ]);
  });

  it("tolerates rows copied without the header (DevTools column order), CRLF and blank lines", () => {
    const text = `\r\n${row("sid", "abc", ".shop.example.co.uk", "/", "Session", "6", "✓", "", "Strict")}\r\n\r\n${row("a", "b")}\r\n`;
    expect(parseCookieInput({ header: text })).toEqual([
      { name: "sid", value: "abc", domain: "shop.example.co.uk", hostOnly: false, httpOnly: true, sameSite: "Strict" },
      { name: "a", value: "b" },
    ]);
  });

  it("finds columns by header name when the order differs", () => {
    const text = [row("Name", "Value", "SameSite", "Domain", "HttpOnly"), row("k", "v", "Strict", ".ex.org", "true")];
    expect(parseCookieInput({ header: text.join("\n") })).toEqual([
      { name: "k", value: "v", domain: "ex.org", hostOnly: false, httpOnly: true, sameSite: "Strict" },
    ]);
  });

  it("normalises IDN and case in domains", () => {
    const [c] = parseCookieInput({ header: row("k", "v", ".BÜCHER.example") });
    expect(c?.domain).toBe("xn--bcher-kva.example");
  });

  it("skips rows with an empty Name and names the line of a bad row", () => {
    expect(parseCookieInput({ header: [HEADER, row("", "nameless"), row("ok", "1")].join("\n") })).toEqual([
      { name: "ok", value: "1" },
    ]);
    const err = parseError(() => parseCookieInput({ header: [HEADER, row("ok", "1"), "garbage-line"].join("\n") }));
    expect(err.message).toMatch(/line 3: expected tab-separated Name and Value/);
    const dom = parseError(() => parseCookieInput({ header: row("k", "v", "evil.com/path") }));
    expect(dom.message).toMatch(/line 1: domain "evil.com\/path" is not a host name/);
  });

  it("a header-only table has no cookies, which is an error", () => {
    expect(parseError(() => parseCookieInput({ header: HEADER })).message).toMatch(/no name=value pair/);
  });

  it("a name=value string that happens to contain a tab is still a name=value string", () => {
    expect(parseCookieInput({ header: "a=1;\tb=2" })).toEqual([
      { name: "a", value: "1" },
      { name: "b", value: "2" },
    ]);
  });
});

describe("per-URL { name, value, domain? } objects (D44)", () => {
  it("accepts objects, with or without domain, and lets them override the string", () => {
    expect(
      parseCookieInput({
        header: "sid=old; lang=en",
        objects: [
          { name: "sid", value: "new" },
          { name: "consent", value: "yes", domain: ".Example.com" },
          { name: "x", value: "1", domain: "" },
        ],
      }),
    ).toEqual([
      { name: "lang", value: "en" },
      { name: "sid", value: "new" },
      { name: "consent", value: "yes", domain: "example.com" },
      { name: "x", value: "1" },
    ]);
  });

  it.each([
    [{ name: "", value: "v" }, /cookies\[0\]\.name must be a non-empty string/],
    [{ name: "a", value: 3 }, /cookies\[0\]\.value must be a string/],
    [{ name: "a", value: "v", domain: 7 }, /cookies\[0\]\.domain must be a string/],
    [{ name: "a", value: "v", domain: "https://example.com" }, /domain "https:\/\/example.com" is not a host name/],
    [{ name: "a", value: "v", domain: "example.com:8080" }, /is not a host name/],
    [null, /cookies\[0\] must be an object/],
  ])("rejects %j", (obj, message) => {
    expect(parseError(() => parseCookieInput({ objects: [obj] as never })).message).toMatch(message);
  });

  it("rejects a non-array", () => {
    expect(parseError(() => parseCookieInput({ objects: "a=b" as never })).message).toMatch(/must be an array/);
  });
});
