import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STATIC_ARTICLE_PARAGRAPHS } from "../../../testkit/src/fixture/block-pages.ts";
import { GZIP_TITLE, LATIN1_TITLE } from "../../../testkit/src/fixture/serve-fetch-pages.ts";
import { buildPdf, REPORT_PDF, startCanary, startFixtureSite, waitFor } from "../../../testkit/src/index.ts";
import type { Canary, FixtureSite } from "../../../testkit/src/index.ts";
import { fetchPage } from "../../src/fetch/fetch-page.ts";
import { needsBrowser } from "../../src/fetch/needs-browser.ts";
import type { FetchedPage, FetchPageOptions } from "../../src/fetch/fetch-page.ts";
import { startEgressProxy } from "../../src/net/egress-proxy.ts";
import type { EgressProxy } from "../../src/net/egress-proxy.ts";

// Everything goes through a real egress proxy that allows only the fixture
// site; the canary is a second loopback server the proxy must refuse.

let site: FixtureSite;
let canary: Canary;
let proxy: EgressProxy;
let tagSeq = 0;

beforeAll(async () => {
  site = await startFixtureSite();
  canary = await startCanary();
  proxy = await startEgressProxy({
    policy: { allowPrivateNetwork: false, allowHosts: [`127.0.0.1:${site.port}`] },
  });
});

afterAll(async () => {
  await proxy?.close();
  await canary?.close();
  await site?.close();
});

function fetchVia(path: string, extra: Partial<FetchPageOptions> = {}): Promise<FetchedPage> {
  return fetchPage({
    url: path.startsWith("http") ? path : site.url(path),
    proxyUrl: proxy.url,
    tag: `fetch-${++tagSeq}`,
    timeoutMs: 5000,
    ...extra,
  });
}

function expectOk(page: FetchedPage): Extract<FetchedPage, { ok: true; html: string }> {
  if (!page.ok) throw new Error(`expected ok, got ${page.kind}: ${page.message}`);
  if (page.document === "pdf") throw new Error("expected a page, got a PDF");
  return page;
}

describe("fetchPage through the egress proxy", () => {
  it("fetches a static article and the proxy counts its bytes for the tag", async () => {
    const tag = "fetch-bytes";
    const page = expectOk(await fetchVia("/static-article", { tag }));
    expect(page.status).toBe(200);
    expect(page.finalUrl).toBe(site.url("/static-article"));
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.html).toContain(STATIC_ARTICLE_PARAGRAPHS[0]);
    expect(page.html).toContain("crème brûlée");
    const bytes = await waitFor(() => {
      const b = proxy.bytes(tag);
      return b.received > page.html.length && b.sent > 0 ? b : undefined;
    });
    expect(bytes.received).toBeGreaterThan(0);
  });

  it.each(["gzip", "br", "deflate", "deflate-raw"])("decompresses %s", async (encoding) => {
    const page = expectOk(await fetchVia(`/gzip?encoding=${encoding}`));
    expect(page.headers["content-encoding"]).toBe(encoding === "deflate-raw" ? "deflate" : encoding);
    expect(page.html).toContain(GZIP_TITLE);
    expect(page.html).toContain(STATIC_ARTICLE_PARAGRAPHS[3]);
  });

  it("decodes ISO-8859-1 declared in the Content-Type header", async () => {
    const page = expectOk(await fetchVia("/latin1"));
    expect(page.headers["content-type"]).toMatch(/iso-8859-1/i);
    expect(page.html).toContain(LATIN1_TITLE);
    expect(page.html).not.toContain("\ufffd");
  });

  it("decodes ISO-8859-1 declared only in <meta charset>", async () => {
    const page = expectOk(await fetchVia("/latin1?declare=meta"));
    expect(page.headers["content-type"]).toBe("text/html");
    expect(page.html).toContain(LATIN1_TITLE);
  });

  it("follows a redirect chain, each hop through the proxy", async () => {
    const inner = `/redirect?status=307&to=${encodeURIComponent("/static-article")}`;
    const outer = `/redirect?status=301&to=${encodeURIComponent(site.url(inner))}`;
    const before = site.hits("/redirect");
    const page = expectOk(await fetchVia(outer));
    expect(page.finalUrl).toBe(site.url("/static-article"));
    expect(page.status).toBe(200);
    expect(site.hits("/redirect") - before).toBe(2);
  });

  it("returns HTTP error pages as ok with their status", async () => {
    const page = expectOk(await fetchVia("/status/404"));
    expect(page.status).toBe(404);
    expect(page.html).toContain("404 Not Found");
  });

  it("refuses a redirect to an address outside the policy; that server sees nothing", async () => {
    const tag = "fetch-ssrf";
    const page = await fetchVia(`/redirect?to=${encodeURIComponent(canary.url("/latest/meta-data/"))}`, { tag });
    expect(page).toMatchObject({ ok: false, kind: "blocked" });
    if (page.ok) return;
    expect(page.message).toMatch(/loopback/);
    expect(page.finalUrl).toBe(canary.url("/latest/meta-data/"));
    expect(proxy.blocked(tag)).toHaveLength(1);
    expect(canary.hits()).toBe(0);
  });

  it("refuses a forbidden start URL as blocked", async () => {
    const page = await fetchVia(canary.url("/"));
    expect(page).toMatchObject({ ok: false, kind: "blocked" });
    expect(canary.hits()).toBe(0);
  });

  it("refuses redirects to non-http schemes", async () => {
    const page = await fetchVia(`/redirect?to=${encodeURIComponent("file:///etc/passwd")}`);
    expect(page).toMatchObject({ ok: false, kind: "blocked" });
  });

  it("times out on a hanging page within the limit", async () => {
    const started = Date.now();
    const page = await fetchVia("/hang", { timeoutMs: 400 });
    const elapsed = Date.now() - started;
    expect(page).toMatchObject({ ok: false, kind: "timeout" });
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(1400);
  });

  it("stops at maxBytes (declared length) with too_large", async () => {
    const page = await fetchVia("/huge?kb=256", { maxBytes: 64 * 1024 });
    expect(page).toMatchObject({ ok: false, kind: "too_large", status: 200 });
  });

  it("caps the decompressed size too (no decompression bombs)", async () => {
    // ~1.1 KB on the wire, ~2.3 KB decoded.
    const page = await fetchVia("/gzip", { maxBytes: 1500 });
    expect(page).toMatchObject({ ok: false, kind: "too_large" });
    if (!page.ok) expect(page.message).toMatch(/decoded/);
  });

  it("returns a text document (JSON, plain text, a feed) as its decoded text, an HTML page as HTML", async () => {
    const json = '{"city":"São Paulo"}';
    const page = expectOk(await fetchVia(`/document?type=application/json&body=${encodeURIComponent(json)}`));
    expect(page).toMatchObject({ document: "text", html: json, status: 200 });
    expect(expectOk(await fetchVia("/robots.txt")).document).toBe("text");
    expect(expectOk(await fetchVia("/sitemap.xml")).document).toBe("text");
    expect(expectOk(await fetchVia("/static-article")).document).toBe("html");
    // XHTML served as XML is a page.
    const xhtml = '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><h1>X</h1></body></html>';
    const page2 = expectOk(await fetchVia(`/document?type=application/xml&body=${encodeURIComponent(xhtml)}`));
    expect(page2).toMatchObject({ document: "html", html: xhtml });
    // Sent to save (a CSV export): read as one shown is.
    const csv = expectOk(await fetchVia("/document?type=text/csv&body=a,b&disposition=attachment"));
    expect(csv).toMatchObject({ document: "text", html: "a,b" });
  });

  it("refuses non-HTML content with its type", async () => {
    const page = await fetchVia("/binary");
    expect(page).toMatchObject({ ok: false, kind: "unsupported_content", status: 200 });
    if (!page.ok) expect(page.message).toContain("image/png");
  });

  it("returns a PDF's bytes: typed, sent to save, untyped, or as octet-stream from a .pdf path", async () => {
    const bytes = buildPdf(REPORT_PDF);
    for (const query of ["", "?disposition=attachment", "?type=none", "?type=application/octet-stream"]) {
      const page = await fetchVia(`/pdf/report.pdf${query}`);
      expect(page, query).toMatchObject({ ok: true, document: "pdf", status: 200 });
      if (page.ok && page.document === "pdf") expect(Buffer.from(page.bytes).equals(bytes), query).toBe(true);
    }
    // A body typed as PDF is one, damaged or not (the reader says why).
    expect(await fetchVia("/pdf/broken.pdf")).toMatchObject({ ok: true, document: "pdf" });
    // Untyped bytes that are not a PDF are refused, from a .pdf path too.
    const image = await fetchVia("/pdf/image.pdf?type=application/octet-stream");
    expect(image).toMatchObject({ ok: false, kind: "unsupported_content" });
    if (!image.ok) expect(image.message).toContain("application/octet-stream is not HTML");
    const attached = await fetchVia("/pdf/image.pdf?type=application/octet-stream&disposition=attachment");
    expect(attached).toMatchObject({ ok: false, kind: "unsupported_content" });
  });

  it("refuses a PDF with readPdf: false (a crawl): one typed as PDF unread, an untyped one by its bytes", async () => {
    expect(await fetchVia("/pdf/report.pdf", { readPdf: false })).toMatchObject({
      ok: false,
      kind: "pdf",
      status: 200,
    });
    expect(await fetchVia("/pdf/report.pdf?type=none", { readPdf: false })).toMatchObject({ ok: false, kind: "pdf" });
  });

  it("gives up after maxRedirects", async () => {
    const before = site.hits("/redirect-loop");
    const page = await fetchVia("/redirect-loop", { maxRedirects: 3 });
    expect(page).toMatchObject({ ok: false, kind: "too_many_redirects" });
    expect(site.hits("/redirect-loop") - before).toBe(4);
  });

  it("sends the caller's cookies and the User-Agent through redirects on the same site", async () => {
    const page = expectOk(
      await fetchVia(`/redirect?to=${encodeURIComponent("/cookies")}`, {
        cookieHeader: "session=abc123; theme=dark",
      }),
    );
    expect(page.html).toContain('<span class="name">session</span>=<span class="value">abc123</span>');
    expect(page.html).toContain('<span class="name">theme</span>=<span class="value">dark</span>');
  });

  it.each([
    ["/shell", true],
    ["/spa", true],
    ["/static-article", false],
    ["/product/2", false],
    ["/news/3", false],
  ])("fetched %s needs a browser: %s", async (path, expected) => {
    const page = expectOk(await fetchVia(path));
    expect(needsBrowser(page.html).browser).toBe(expected);
  });

  it("reports an unreachable proxy as a network failure", async () => {
    const page = await fetchVia("/static-article", { proxyUrl: "http://127.0.0.1:1" });
    expect(page).toMatchObject({ ok: false, kind: "network" });
  });
});
