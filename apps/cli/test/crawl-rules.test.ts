import { createHmac } from "node:crypto";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { buildCrawlZip, folderName, parseInclude } from "../../api/src/routes/crawl/download-crawl.ts";
import { basePathPrefix, compilePattern, createScope } from "../../worker/src/crawl/crawl-scope.ts";
import { inScopeCandidates } from "../../worker/src/crawl/discover-links.ts";
import type { GuardedRequestOptions, GuardedResponse } from "../../worker/src/crawl/guarded-request.ts";
import { GuardedRequestError } from "../../worker/src/crawl/guarded-request.ts";
import { normalizeLink } from "../../worker/src/crawl/normalize-url.ts";
import { gunzipCapped, parseSitemap, readSitemaps, SITEMAP_MAX_BYTES } from "../../worker/src/crawl/read-sitemap.ts";
import { createRobotsRules } from "../../worker/src/crawl/robots-rules.ts";
import { sitemapSeedRoom } from "../../worker/src/crawl/seed-crawl.ts";
import { signWebhookBody, WebhookSender } from "../../worker/src/crawl/webhook-sender.ts";
import type { CrawlJob, CrawlPageRow, CrawlRow } from "@orbweaver/db";
import type { BlobStore } from "@orbweaver/storage";
import { readZip, startWebhookReceiver } from "./helpers/crawl.ts";

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

  it("folds a leading www. and a directory's index.html / index.htm into one key", () => {
    expect(key("https://www.example.com/a/")).toBe(key("https://example.com/a"));
    expect(key("https://WWW.Example.com:8443/x")).toBe("//example.com:8443/x");
    expect(key("https://example.com/index.html")).toBe(key("https://example.com/"));
    expect(key("https://example.com/docs/index.htm")).toBe("//example.com/docs");
    expect(key("https://www.example.com/docs/index.html?b=2&a=1")).toBe("//example.com/docs?a=1&b=2");
    // Only a whole "index.html" segment, and only www. as a leading label.
    expect(key("https://example.com/docs/myindex.html")).toBe("//example.com/docs/myindex.html");
    expect(key("https://example.com/index.html/x")).toBe("//example.com/index.html/x");
    expect(key("https://wwwx.example.com/")).toBe("//wwwx.example.com/");
    expect(key("https://docs.www.example.com/")).toBe("//docs.www.example.com/");
    // The URL to fetch is kept as linked.
    expect(normalizeLink("https://www.example.com/index.html", { ignoreQueryParams: false })?.url).toBe(
      "https://www.example.com/index.html",
    );
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

  it("matches include and exclude patterns against non-ASCII paths and spaces, decoded or as sent", () => {
    const s = createScope({
      baseUrl: "https://example.com/",
      allowSubdomains: false,
      crawlEntireDomain: false,
      includePaths: ["/café/*", "/my docs/", "/%C3%BCber"],
      excludePaths: ["*/entwürfe/*"],
    });
    expect(verdict(s, "https://example.com/café/menu")).toBe("ok");
    expect(verdict(s, "https://example.com/caf%C3%A9/menu")).toBe("ok");
    expect(verdict(s, "https://example.com/my%20docs/a")).toBe("ok");
    expect(verdict(s, "https://example.com/über")).toBe("ok");
    expect(verdict(s, "https://example.com/cafe/menu")).toBe("include");
    expect(verdict(s, "https://example.com/café/entwürfe/1")).toBe("exclude");
    // A malformed escape is matched as sent.
    expect(verdict(s, "https://example.com/caf%E9/menu")).toBe("include");
  });

  it("keeps %2F and %5C encoded when decoding paths for patterns: they would change the path's segments", () => {
    const s = createScope({
      baseUrl: "https://example.com/",
      allowSubdomains: false,
      crawlEntireDomain: false,
      includePaths: ["/a/b", "/a\\b", "/docs/*"],
      excludePaths: ["/docs/private/", "*/über%2Fdraft"],
    });
    expect(verdict(s, "https://example.com/a/b/page")).toBe("ok");
    // One segment "a/b" (or "a\\b") is not the path /a/b.
    expect(verdict(s, "https://example.com/a%2Fb/page")).toBe("include");
    expect(verdict(s, "https://example.com/a%2fb")).toBe("include");
    expect(verdict(s, "https://example.com/a%5Cb")).toBe("include");
    expect(verdict(s, "https://example.com/docs/private%2Fx")).toBe("ok");
    expect(verdict(s, "https://example.com/docs/private/x")).toBe("exclude");
    // Other escapes around them still decode.
    expect(verdict(s, "https://example.com/docs/%C3%BCber%2Fdraft")).toBe("exclude");
    expect(verdict(s, "https://example.com/docs/%C3%BCber%2Fdraft%20x")).toBe("ok");
  });

  it("derives the base path and compiles patterns", () => {
    expect(basePathPrefix("/")).toBe("");
    expect(basePathPrefix("/docs/")).toBe("/docs");
    expect(basePathPrefix("/docs/index.html")).toBe("/docs");
    expect(compilePattern("blog")("/blog/x")).toBe(true);
    expect(compilePattern("/a.b/*")("/aXb/c")).toBe(false);
    expect(compilePattern("*.html")("/x/y.html")).toBe(true);
  });

  it("filters by robots.txt unless told not to, normalising and de-duplicating", async () => {
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

describe("link candidates", () => {
  const crawl = { ignoreQueryParams: false } as CrawlRow;
  const base = "https://example.com/";
  const robotsSaying = (body: string) =>
    createRobotsRules({
      policy: { allowPrivateNetwork: false, allowHosts: [] },
      respect: true,
      maxDelayMs: 0,
      log: pino({ level: "silent" }),
      request: async (opts) => ({ status: 200, url: opts.url, contentType: "text/plain", body: Buffer.from(body) }),
    });
  const urls = async (
    policy: { scope?: ReturnType<typeof createScope>; robots?: ReturnType<typeof createRobotsRules> },
    links: string[],
  ) =>
    (
      await inScopeCandidates(
        {
          crawl,
          scope: policy.scope ?? createScope({ baseUrl: base, allowSubdomains: false, crawlEntireDomain: false }),
          robots: policy.robots ?? robotsSaying(""),
        },
        links.map((url) => ({ url, text: url })),
        base,
      )
    ).map((c) => [c.url, c.text]);

  it("judges scope and robots.txt on each link as spelled, before folding it into its key", async () => {
    const robots = robotsSaying("User-agent: *\nDisallow: /a/index.html\nDisallow: /b/$\n");
    // The disallowed spelling is dropped and does not hide the allowed one of the same key.
    expect(await urls({ robots }, ["/a/index.html", "/a/"])).toEqual([["https://example.com/a/", "/a/"]]);
    expect(await urls({ robots }, ["/a/", "/a/index.html"])).toEqual([["https://example.com/a/", "/a/"]]);
    expect(await urls({ robots }, ["/a/index.html"])).toEqual([]);
    expect(await urls({ robots }, ["/b/", "/b/index.html"])).toEqual([
      ["https://example.com/b/index.html", "/b/index.html"],
    ]);
    const scope = createScope({
      baseUrl: base,
      allowSubdomains: false,
      crawlEntireDomain: false,
      excludePaths: ["*/index.html"],
    });
    expect(await urls({ scope }, ["/a/index.html", "/a/"])).toEqual([["https://example.com/a/", "/a/"]]);
    expect(await urls({ scope }, ["/a/index.html"])).toEqual([]);
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

  it("keeps no more sitemap seeds than maxPages leaves room for after the base page", () => {
    expect(sitemapSeedRoom(1)).toBe(0);
    expect(sitemapSeedRoom(5)).toBe(4);
    expect(sitemapSeedRoom(10_000)).toBe(500);
  });

  const log = pino({ level: "silent" });
  const answering =
    (table: Record<string, { status: number; body: Buffer | string } | Error>) =>
    async (opts: GuardedRequestOptions): Promise<GuardedResponse> => {
      const entry = table[opts.url];
      if (entry instanceof Error) throw entry;
      if (!entry) return { status: 404, url: opts.url, contentType: "text/plain", body: Buffer.from("no") };
      const body = typeof entry.body === "string" ? Buffer.from(entry.body) : entry.body;
      return { status: entry.status, url: opts.url, contentType: "", body: body.subarray(0, opts.maxBytes) };
    };
  const urlset = (urls: string[]) =>
    `<?xml version="1.0"?><urlset>${urls.map((u) => `<url><loc>${u}</loc></url>`).join("")}</urlset>`;

  it("reads gzipped sitemaps (by their magic bytes), indexes too", async () => {
    const pages = await readSitemaps({
      urls: ["https://e.com/sitemap_index.xml.gz"],
      policy: { allowPrivateNetwork: false, allowHosts: [] },
      log,
      request: answering({
        "https://e.com/sitemap_index.xml.gz": {
          status: 200,
          body: gzipSync(`<sitemapindex><sitemap><loc>https://e.com/s1.xml.gz</loc></sitemap>
            <sitemap><loc>https://e.com/s2.xml</loc></sitemap></sitemapindex>`),
        },
        "https://e.com/s1.xml.gz": { status: 200, body: gzipSync(urlset(["https://e.com/a", "https://e.com/b"])) },
        // Served gzipped under another name (as some frameworks do).
        "https://e.com/s2.xml": { status: 200, body: gzipSync(urlset(["https://e.com/c"])) },
      }),
    });
    expect(pages).toEqual(["https://e.com/a", "https://e.com/b", "https://e.com/c"]);
  });

  it("stops inflating a gzipped sitemap at SITEMAP_MAX_BYTES (gzip bombs)", async () => {
    // ~12 MiB of XML that compresses to well under the read cap.
    const entry = "<url><loc>https://e.com/p</loc></url>";
    const bomb = gzipSync(Buffer.from(`<urlset>${entry.repeat(Math.ceil((12 * 1024 * 1024) / entry.length))}`));
    expect(bomb.length).toBeLessThan(SITEMAP_MAX_BYTES);
    const inflated = await gunzipCapped(bomb, SITEMAP_MAX_BYTES);
    expect(inflated.length).toBe(SITEMAP_MAX_BYTES);
    const pages = await readSitemaps({
      urls: ["https://e.com/bomb.xml.gz"],
      policy: { allowPrivateNetwork: false, allowHosts: [] },
      log,
      request: answering({ "https://e.com/bomb.xml.gz": { status: 200, body: bomb } }),
    });
    // Read as far as the cap (then MAX_SITEMAP_URLS), like a plain sitemap cut at the cap.
    expect(pages.length).toBeGreaterThan(0);
    expect(pages.every((p) => p === "https://e.com/p")).toBe(true);
    // A gzip body cut short gives what inflated before the cut; garbage after the magic bytes, nothing.
    const cut = gzipSync(urlset(["https://e.com/x", "https://e.com/y"]));
    expect((await gunzipCapped(cut.subarray(0, cut.length - 8), 1024)).toString()).toContain("https://e.com/y");
    await expect(gunzipCapped(Buffer.from([0x1f, 0x8b, 1, 2, 3]), 1024)).rejects.toThrow();
  });

  it("follows RFC 9309 for robots.txt it cannot read: 4xx allows everything, 5xx or no answer disallows", async () => {
    const reported: string[] = [];
    const rules = (respect = true) =>
      createRobotsRules({
        policy: { allowPrivateNetwork: false, allowHosts: [] },
        respect,
        maxDelayMs: 0,
        log,
        onUnreachable: (origin, reason) => void reported.push(`${origin} ${reason}`),
        request: answering({
          "https://ok.test/robots.txt": { status: 200, body: "User-agent: *\nDisallow: /private\n" },
          "https://gone.test/robots.txt": { status: 404, body: "" },
          "https://forbidden.test/robots.txt": { status: 403, body: "" },
          "https://down.test/robots.txt": { status: 503, body: "" },
          "https://broken.test/robots.txt": { status: 500, body: "" },
          "https://away.test/robots.txt": new GuardedRequestError("no answer within 10000 ms"),
        }),
      });
    const strict = rules();
    const allowed = (url: string) => strict.isAllowed(new URL(url));
    expect(await allowed("https://ok.test/a")).toBe(true);
    expect(await allowed("https://ok.test/private/x")).toBe(false);
    expect(await allowed("https://gone.test/a")).toBe(true);
    expect(await allowed("https://forbidden.test/a")).toBe(true);
    expect(await allowed("https://down.test/")).toBe(false);
    expect(await allowed("https://down.test/a")).toBe(false);
    expect(await allowed("https://broken.test/a")).toBe(false);
    expect(await allowed("https://away.test/a")).toBe(false);
    // Told once per origin.
    expect(await allowed("https://down.test/b")).toBe(false);
    expect(reported).toEqual([
      "https://down.test HTTP 503",
      "https://broken.test HTTP 500",
      "https://away.test no answer within 10000 ms",
    ]);
    // Not obeyed: nothing disallowed, nothing reported.
    reported.length = 0;
    expect(await rules(false).isAllowed(new URL("https://down.test/a"))).toBe(true);
    expect(reported).toEqual([]);
  });

  it("leaves pages whose files are all gone out of the ZIP index, and gone files out of a page's list", async () => {
    const stored = new Map<string, string>([
      ["crawl/c/1.html", "<p>one</p>"],
      ["crawl/c/1.md", "one"],
      ["crawl/c/3.md", "three"],
    ]);
    const blobs = {
      get: async (key: string) => {
        const text = stored.get(key);
        return text === undefined
          ? null
          : { body: Readable.from([Buffer.from(text)]), size: text.length, contentType: "text/plain" };
      },
    } as unknown as BlobStore;
    const page = (n: number, path: string): CrawlPageRow =>
      ({
        id: `p${n}`,
        url: `https://e.com${path}`,
        title: `Page ${n}`,
        status: "success",
        data: null,
        htmlKey: `crawl/c/${n}.html`,
        markdownKey: `crawl/c/${n}.md`,
      }) as CrawlPageRow;
    const found = {
      job: { status: "completed" },
      crawl: { id: "c", baseUrl: "https://e.com/", createdAt: new Date(0) },
    } as unknown as CrawlJob;
    const pages = [page(1, "/one"), page(2, "/two"), page(3, "/three")];
    const zipOf = async (include: string) => {
      const stream = await buildCrawlZip(blobs, { found, pages, include: parseInclude(include) });
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      const files = readZip(Buffer.concat(chunks));
      const index = JSON.parse(files.get("index.json")!.toString()) as {
        pages: Array<{ folder: string; url: string; files: string[] }>;
      };
      return { names: [...files.keys()].filter((n) => n !== "index.json").sort(), index: index.pages };
    };
    const html = await zipOf("html");
    expect(html.index.map((p) => [p.folder, p.files])).toEqual([["001-one", ["page.html"]]]);
    expect(html.names).toEqual(["001-one/page.html"]);
    const both = await zipOf("html,markdown");
    expect(both.index.map((p) => [p.folder, p.files])).toEqual([
      ["001-one", ["page.html", "page.md"]],
      ["002-three", ["page.md"]],
    ]);
    expect(both.names).toEqual(["001-one/page.html", "001-one/page.md", "002-three/page.md"]);
    // data.json is always there when asked for: every page is listed.
    const withData = await zipOf("markdown,data");
    expect(withData.index.map((p) => [p.folder, p.files])).toEqual([
      ["001-one", ["page.md", "data.json"]],
      ["002-two", ["data.json"]],
      ["003-three", ["page.md", "data.json"]],
    ]);
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
