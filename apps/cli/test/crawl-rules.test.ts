import { createHmac } from "node:crypto";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { folderName, parseInclude } from "../../api/src/routes/crawl/download-crawl.ts";
import { basePathPrefix, compilePattern, createScope } from "../../worker/src/crawl/crawl-scope.ts";
import { inScopeCandidates } from "../../worker/src/crawl/discover-links.ts";
import { normalizeLink } from "../../worker/src/crawl/normalize-url.ts";
import { parseSitemap } from "../../worker/src/crawl/read-sitemap.ts";
import { signWebhookBody, WebhookSender } from "../../worker/src/crawl/webhook-sender.ts";
import type { CrawlRow } from "@orbweaver/db";
import { startWebhookReceiver } from "./helpers/crawl.ts";

const key = (raw: string, ignoreQueryParams = false, base?: string) =>
  normalizeLink(raw, { ignoreQueryParams, ...(base ? { base } : {}) })?.key ?? null;

describe("link normalisation", () => {
  it("folds fragments, default ports, trailing slashes, host case and query order", () => {
    expect(key("HTTP://Example.COM:80/a/b/#top")).toBe("//example.com/a/b");
    expect(key("https://example.com:443/")).toBe("//example.com/");
    expect(key("https://example.com")).toBe(key("http://example.com/"));
    expect(key("https://example.com:8443/x")).toBe("//example.com:8443/x");
    expect(key("https://example.com/p?b=2&a=1")).toBe("//example.com/p?a=1&b=2");
    expect(key("https://example.com/p?b=2&a=1", true)).toBe("//example.com/p");
    expect(key("https://example.com/p?")).toBe("//example.com/p");
    expect(key("../up", false, "https://example.com/a/b/c")).toBe("//example.com/a/up");
  });

  it("keeps the URL to fetch as linked, without its fragment", () => {
    expect(normalizeLink("/docs/#intro", { base: "https://example.com/", ignoreQueryParams: true })?.url).toBe(
      "https://example.com/docs/",
    );
  });

  it("drops other schemes, credentials and links to files", () => {
    for (const raw of [
      "mailto:a@b.c",
      "javascript:void(0)",
      "tel:+1555",
      "ftp://example.com/x",
      "data:text/html,hi",
      "https://user:pw@example.com/",
      "https://example.com/report.PDF",
      "https://example.com/img/logo.png?v=2",
      "https://example.com/a.zip",
    ]) {
      expect(normalizeLink(raw, { base: "https://example.com/", ignoreQueryParams: false }), raw).toBeNull();
    }
    expect(normalizeLink("::not a url", { ignoreQueryParams: false })).toBeNull();
    expect(key("https://example.com/page.html")).toBe("//example.com/page.html");
  });

  it("takes a crawl's own base URL whatever its path (`anyPath`), still not with credentials", () => {
    expect(normalizeLink("https://example.com/notes.txt", { ignoreQueryParams: false, anyPath: true })?.url).toBe(
      "https://example.com/notes.txt",
    );
    expect(normalizeLink("https://user:pw@example.com/", { ignoreQueryParams: false, anyPath: true })).toBeNull();
  });
});

describe("crawl scope", () => {
  const scope = (extra: Partial<Parameters<typeof createScope>[0]> = {}) =>
    createScope({
      baseUrl: "https://www.example.co.uk/blog/",
      allowSubdomains: false,
      crawlEntireDomain: false,
      ...extra,
    });
  const verdict = (s: ReturnType<typeof createScope>, url: string) => {
    const v = s(new URL(url));
    return v.ok ? "ok" : v.reason;
  };

  it("keeps to the base host and path by default", () => {
    const s = scope();
    expect(verdict(s, "https://www.example.co.uk/blog")).toBe("ok");
    expect(verdict(s, "https://www.example.co.uk/blog/post")).toBe("ok");
    // The apex and www. are one site (the usual redirect between them).
    expect(verdict(s, "http://example.co.uk/blog/post")).toBe("ok");
    expect(verdict(s, "https://www.example.co.uk/blogging")).toBe("path");
    expect(verdict(s, "https://www.example.co.uk/about")).toBe("path");
    expect(verdict(s, "https://docs.example.co.uk/blog/x")).toBe("host");
    expect(verdict(s, "https://www.example.co.uk:8443/blog/x")).toBe("host");
    expect(verdict(s, "https://example.org/blog/")).toBe("host");
  });

  it("admits subdomains of the registrable domain (public-suffix aware) with allowSubdomains", () => {
    const s = scope({ allowSubdomains: true });
    expect(verdict(s, "https://docs.example.co.uk/anything")).toBe("ok");
    expect(verdict(s, "https://example.co.uk/")).toBe("path"); // the base site itself keeps the path rule
    expect(verdict(s, "https://a.b.example.co.uk/x")).toBe("ok");
    expect(verdict(s, "https://other.co.uk/")).toBe("host");
    expect(verdict(s, "https://example.co.uk.evil.com/")).toBe("host");
    expect(verdict(s, "https://www.example.co.uk/about")).toBe("path");
    // IP addresses have no subdomains.
    const ip = createScope({ baseUrl: "http://127.0.0.1:8080/", allowSubdomains: true, crawlEntireDomain: true });
    expect(verdict(ip, "http://127.0.0.2:8080/")).toBe("host");
    expect(verdict(ip, "http://localhost:8080/")).toBe("host");
  });

  it("ignores the base path and admits the whole domain with crawlEntireDomain", () => {
    const s = scope({ crawlEntireDomain: true });
    expect(verdict(s, "https://www.example.co.uk/about")).toBe("ok");
    expect(verdict(s, "https://shop.example.co.uk/")).toBe("ok");
  });

  it("applies include and exclude patterns (prefix or glob) to the path", () => {
    const s = scope({
      includePaths: ["/blog/2024/*", "/blog/featured"],
      excludePaths: ["*/draft-*", "/blog/2024/tag/"],
    });
    expect(verdict(s, "https://www.example.co.uk/blog/2024/a/b")).toBe("ok");
    expect(verdict(s, "https://www.example.co.uk/blog/featured-posts")).toBe("ok");
    expect(verdict(s, "https://www.example.co.uk/blog/2023/a")).toBe("include");
    expect(verdict(s, "https://www.example.co.uk/blog/2024/draft-1")).toBe("exclude");
    expect(verdict(s, "https://www.example.co.uk/blog/2024/tag/x")).toBe("exclude");
  });

  it("derives the base path and compiles patterns", () => {
    expect(basePathPrefix("/")).toBe("");
    expect(basePathPrefix("/docs/")).toBe("/docs");
    expect(basePathPrefix("/docs/index.html")).toBe("/docs");
    expect(compilePattern("blog")("/blog/x")).toBe(true);
    expect(compilePattern("/a.b/*")("/aXb/c")).toBe(false);
    expect(compilePattern("*.html")("/x/y.html")).toBe(true);
  });

  it("filters by robots.txt unless told not to, after normalising and de-duplicating", async () => {
    const crawl = { ignoreQueryParams: false } as CrawlRow;
    const base = "https://example.com/";
    const raw = [
      { url: "/a#x", text: "" },
      { url: "/a", text: "A" },
      { url: "/private/x", text: "P" },
      { url: "https://elsewhere.com/", text: "E" },
    ];
    const scopeAll = createScope({ baseUrl: base, allowSubdomains: false, crawlEntireDomain: false });
    const robots = (allowed: boolean) => ({
      isAllowed: async (u: URL) => allowed || !u.pathname.startsWith("/private"),
      sitemaps: async () => [],
    });
    const strict = await inScopeCandidates({ crawl, scope: scopeAll, robots: robots(false) }, raw, base);
    expect(strict.map((c) => [c.url, c.text])).toEqual([["https://example.com/a", "A"]]);
    const lax = await inScopeCandidates({ crawl, scope: scopeAll, robots: robots(true) }, raw, base);
    expect(lax.map((c) => c.url)).toEqual(["https://example.com/a", "https://example.com/private/x"]);
  });
});

describe("sitemaps, ZIP names and webhook signing", () => {
  it("reads <loc> entries of sitemaps and sitemap indexes", () => {
    const xml = `<?xml version="1.0"?><urlset><url><loc> https://e.com/a?x=1&amp;y=2 </loc></url><url><loc><![CDATA[https://e.com/b]]></loc></url></urlset>`;
    expect(parseSitemap(xml)).toEqual({ index: false, locs: ["https://e.com/a?x=1&y=2", "https://e.com/b"] });
    expect(parseSitemap(`<sitemapindex><sitemap><loc>https://e.com/s1.xml</loc></sitemap></sitemapindex>`)).toEqual({
      index: true,
      locs: ["https://e.com/s1.xml"],
    });
  });

  it("names ZIP folders <NNN>-<slug> and parses include", () => {
    expect(folderName(0, "https://e.com/")).toBe("001-index");
    expect(folderName(11, "https://e.com/Docs/Getting Started/?q=1")).toBe("012-docs-getting-started");
    expect([...parseInclude(undefined)]).toEqual(["html", "markdown", "data"]);
    expect([...parseInclude(" Data ,html")]).toEqual(["data", "html"]);
    expect(() => parseInclude("pdf")).toThrow(/include/);
  });

  it("signs the raw body as sha256=<hex HMAC>", () => {
    const body = JSON.stringify({ event: "crawl.completed", jobId: "j", pagesScraped: 1, creditsUsed: 2 });
    expect(signWebhookBody("s3cret", body)).toBe(`sha256=${createHmac("sha256", "s3cret").update(body).digest("hex")}`);
  });

  it("checks the SSRF rule at delivery time: a forbidden address is never connected to", async () => {
    const receiver = await startWebhookReceiver();
    try {
      const send = (allowPrivateNetwork: boolean) => {
        const sender = new WebhookSender({
          url: receiver.url,
          policy: { allowPrivateNetwork, allowHosts: [] },
          secret: async () => "s",
          log: pino({ level: "silent" }),
          retryDelaysMs: [10, 10],
        });
        sender.send({ event: "crawl.failed", jobId: "j", error: "x" });
        return sender.drain();
      };
      await send(false);
      expect(receiver.received).toHaveLength(0);
      await send(true);
      expect(receiver.received).toHaveLength(1);
      expect(receiver.received[0]!.headers["x-spidra-signature"]).toBe(signWebhookBody("s", receiver.received[0]!.raw));
    } finally {
      await receiver.close();
    }
  });
});
