import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NEWS_ARTICLE_COUNT, startFixtureSite } from "../src/index.ts";
import type { FixtureSite } from "../src/index.ts";

let site: FixtureSite;
beforeAll(async () => {
  site = await startFixtureSite();
});
afterAll(async () => {
  await site.close();
});

async function get(path: string, init?: RequestInit): Promise<{ status: number; text: string; res: Response }> {
  const res = await fetch(site.url(path), init);
  return { status: res.status, text: await res.text(), res };
}

const all = (re: RegExp, text: string): string[] => [...text.matchAll(re)].map((m) => m[1] ?? "");

describe("fixture site: content pages", () => {
  it("binds to 127.0.0.1 and builds urls", () => {
    expect(site.origin).toBe(`http://127.0.0.1:${site.port}`);
    expect(site.url("/news?page=2")).toBe(`${site.origin}/news?page=2`);
  });

  it("serves a home page with layout boilerplate and section links", async () => {
    const { status, text, res } = await get("/");
    expect(status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(text).toMatch(/<title>Fixture Times - Home<\/title>/);
    for (const tag of ["<header", "<nav", "<main", "<footer"]) expect(text).toContain(tag);
    for (const href of ["/news", "/product/1", "/form", "/load-more", "/spa"]) expect(text).toContain(`href="${href}"`);
  });

  it("paginates 3 news pages of 12 distinct stories", async () => {
    const titles: string[] = [];
    for (const [path, next] of [
      ["/news", "/news?page=2"],
      ["/news?page=2", "/news?page=3"],
      ["/news?page=3", undefined],
    ] as const) {
      const { status, text } = await get(path);
      expect(status).toBe(200);
      expect(text.match(/<article class="story">/g)).toHaveLength(12);
      expect(text).toMatch(/<p class="summary">[^<]+<\/p>/);
      expect(text).toMatch(/<span class="date">2024-\d\d-\d\d<\/span>/);
      titles.push(...all(/<h2><a href="\/news\/\d+">([^<]+)<\/a><\/h2>/g, text));
      if (next) expect(text).toContain(`href="${next}">Next page</a>`);
      else expect(text).not.toContain("Next page");
    }
    expect(titles).toHaveLength(NEWS_ARTICLE_COUNT);
    expect(new Set(titles).size).toBe(NEWS_ARTICLE_COUNT);
    expect((await get("/news?page=4")).status).toBe(404);
  });

  it("serves distinct article detail pages", async () => {
    const a = await get("/news/1");
    const b = await get("/news/13");
    for (const page of [a, b]) {
      expect(page.status).toBe(200);
      expect(page.text).toMatch(/<h1 class="headline">[^<]+<\/h1>/);
      expect(page.text).toMatch(/<span class="author">[^<]+<\/span>/);
      expect(page.text).toMatch(/<div class="article-body">\s*<p>/);
    }
    const headline = (t: string): string | undefined => /<h1 class="headline">([^<]+)</.exec(t)?.[1];
    expect(headline(a.text)).not.toBe(headline(b.text));
    expect((await get("/news/99")).status).toBe(404);
  });

  it("serves product pages with price, stock, rating, sku and specs", async () => {
    const { text } = await get("/product/1");
    expect(text).toContain("$39.99");
    expect(text).toContain("In stock");
    expect(text).toMatch(/Rated 4\.5 out of 5/);
    expect(text).toContain('SKU: <span class="sku-value">TB-30-GRN</span>');
    expect(text).toMatch(/<table class="specs">[\s\S]*<th scope="row">Capacity<\/th><td>30 L<\/td>/);
    for (const id of [2, 3]) {
      const p = await get(`/product/${id}`);
      expect(p.status).toBe(200);
      expect(p.text).toMatch(/<p class="price">\$\d+\.\d\d<\/p>/);
      expect(p.text).toContain("In stock");
    }
  });

  it("serves a page with an arbitrary title", async () => {
    const { text } = await get(`/page-with-title?title=${encodeURIComponent("Hello <World>")}`);
    expect(text).toContain("<title>Hello &lt;World&gt;</title>");
  });

  it("generates a deterministic huge page of about N KB", async () => {
    const a = await get("/huge?kb=100");
    const b = await get("/huge?kb=100");
    expect(a.text).toBe(b.text);
    const size = Buffer.byteLength(a.text);
    expect(size).toBeGreaterThanOrEqual(100 * 1024);
    expect(size).toBeLessThan(104 * 1024);
    for (const tag of ["<h2>", "<p>", "<ul>", "<table", "<a href="]) expect(a.text).toContain(tag);
    const def = await get("/huge");
    expect(Buffer.byteLength(def.text)).toBeGreaterThanOrEqual(1024 * 1024);
    expect(Buffer.byteLength(def.text)).toBeLessThan(1030 * 1024);
  });

  it("answers arbitrary statuses with a small HTML body", async () => {
    for (const code of [403, 404, 418, 500, 503]) {
      const { status, text } = await get(`/status/${code}`);
      expect(status).toBe(code);
      expect(text).toContain(`<h1>${code}`);
    }
    expect((await get("/status/204")).status).toBe(204);
    expect((await get("/status/429")).res.headers.get("retry-after")).toBe("1");
  });

  it("serves robots.txt and a sitemap listing news pages", async () => {
    const robots = await get("/robots.txt");
    expect(robots.res.headers.get("content-type")).toContain("text/plain");
    expect(robots.text).toContain("User-agent: *");
    expect(robots.text).toContain(`Sitemap: ${site.origin}/sitemap.xml`);
    const sitemap = await get("/sitemap.xml");
    expect(sitemap.text).toContain(`<loc>${site.origin}/news</loc>`);
    expect(sitemap.text).toContain(`<loc>${site.origin}/news?page=3</loc>`);
    expect(sitemap.text).toContain(`<loc>${site.origin}/news/36</loc>`);
  });

  it("404s unknown paths and counts hits", async () => {
    const before = site.hits();
    const beforeNews = site.hits("/news");
    const beforePage2 = site.hits("/news?page=2");
    expect((await get("/nope")).status).toBe(404);
    await get("/news?page=2");
    expect(site.hits()).toBe(before + 2);
    expect(site.hits("/nope")).toBe(1);
    expect(site.hits("/news")).toBe(beforeNews + 1);
    expect(site.hits("/news?page=2")).toBe(beforePage2 + 1);
  });
});

describe("fixture site: timing and redirects", () => {
  it("delays /slow by ms", async () => {
    const start = Date.now();
    const { text } = await get("/slow?ms=250");
    expect(Date.now() - start).toBeGreaterThanOrEqual(240);
    expect(text).toContain("Slow page (250 ms)");
  });

  it("never answers /hang, and close() still returns promptly", async () => {
    const own = await startFixtureSite();
    await expect(fetch(own.url("/hang"), { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    const pending = fetch(own.url("/hang")).catch((err: unknown) => err);
    const slow = fetch(own.url("/slow?ms=60000")).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 100));
    const start = Date.now();
    await own.close();
    expect(Date.now() - start).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(Error);
    expect(await slow).toBeInstanceOf(Error);
    expect(own.hits("/hang")).toBe(2);
  });

  it("redirects in a loop forever", async () => {
    const first = await get("/redirect-loop", { redirect: "manual" });
    expect(first.status).toBe(302);
    expect(first.res.headers.get("location")).toBe("/redirect-loop?n=1");
    const second = await get("/redirect-loop?n=1", { redirect: "manual" });
    expect(second.res.headers.get("location")).toBe("/redirect-loop?n=2");
    await expect(fetch(site.url("/redirect-loop"))).rejects.toThrow();
  });

  it("redirects to any url with the requested status", async () => {
    for (const status of [301, 302, 303, 307, 308]) {
      const to = "http://169.254.169.254/latest/meta-data/";
      const r = await get(`/redirect?to=${encodeURIComponent(to)}&status=${status}`, { redirect: "manual" });
      expect(r.status).toBe(status);
      expect(r.res.headers.get("location")).toBe(to);
    }
    expect((await get("/redirect?to=/news")).status).toBe(200); // followed, default 302
    expect((await get("/redirect?to=/news&status=200", { redirect: "manual" })).status).toBe(400);
  });

  it("serves meta-refresh and script redirects", async () => {
    const meta = await get(`/meta-redirect?to=${encodeURIComponent("/news/2")}`);
    expect(meta.text).toContain('<meta http-equiv="refresh" content="0; url=/news/2">');
    const js = await get(`/js-redirect?to=${encodeURIComponent("http://127.0.0.1:1/x")}`);
    expect(js.text).toContain('location.href = "http://127.0.0.1:1/x";');
  });
});
