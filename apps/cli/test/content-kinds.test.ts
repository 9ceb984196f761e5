import { LONG_PDF, REPORT_PDF, REPORT_PDF_TEXT, type FixtureSite } from "@orbweaver/testkit";
import { describe, expect, it } from "vitest";
import { onOrigin, pollCrawl, startCrawl, type CrawlPage } from "./helpers/crawl.ts";
import { call, scrapeAndWait, type PollBody } from "./helpers/http.ts";
import { countingContexts, startSiteAndStack, startTestStack, useStarted, type TestStack } from "./helpers/stack.ts";

// What a URL gives, by kind: an API's JSON, a feed or a text file gives its text as it is, however
// short; a short HTML page of its own is a page, not an "empty shell"; a page of web components gives
// the content of their shadow roots; a PDF gives its text.

let stack: TestStack;
let site: FixtureSite;
let key: string;

useStarted(
  async () => {
    const started = await startSiteAndStack();
    ({ key } = await started.stack.createKey(10_000));
    return started;
  },
  (started) => ({ site, stack } = started),
);

const JSON_BODY = '{"id":7,"name":"Widget","tags":["a","b"]}';
const FEED = `<?xml version="1.0"?><rss version="2.0"><channel><title>News</title><item><title>First story</title><link>https://example.com/1</link></item></channel></rss>`;
// Kept as it is inside; the ends are trimmed, as every scrape's content is.
const TEXT = "line one\n  line two: café";

const documentUrl = (type: string, body: string, status = 200) =>
  site.url(`/document?${new URLSearchParams({ type, body, status: String(status) }).toString()}`);

function expectText(final: PollBody, text: string): void {
  expect(final.status, JSON.stringify(final.error)).toBe("completed");
  expect(final.result!.content).toBe(text);
  expect(final.result!.data[0]).toMatchObject({ success: true, error: null, title: "", markdownContent: text });
}

describe("text documents", () => {
  it("returns JSON, a feed and plain text as they are, over HTTP without a browser, in both modes", async () => {
    const cases: Array<[string, string]> = [
      ["application/json", JSON_BODY],
      ["application/rss+xml; charset=utf-8", FEED],
      ["text/plain; charset=utf-8", TEXT],
    ];
    for (const scrapeMode of ["default", "fast"]) {
      for (const [type, body] of cases) {
        const { value: final, contexts } = await countingContexts(stack, () =>
          scrapeAndWait(stack.api, key, { urls: [{ url: documentUrl(type, body) }], scrapeMode }),
        );
        expectText(final, body);
        expect(contexts, `${scrapeMode} ${type}`).toBe(0);
      }
    }
  });

  it("gives the document's text in the browser path too (a screenshot asked for), not Chromium's viewer", async () => {
    for (const [type, body] of [
      ["application/json", JSON_BODY],
      ["application/xml", FEED],
    ]) {
      const { value: final, contexts } = await countingContexts(stack, () =>
        scrapeAndWait(stack.api, key, { urls: [{ url: documentUrl(type!, body!) }], screenshot: true }),
      );
      expect(contexts).toBe(1);
      expectText(final, body!);
      expect(final.result!.data[0]!.screenshotUrl).toMatch(/^http/);
      expect(final.result!.content).not.toMatch(/style information|pretty/i);
    }
  });

  it("reads a text document Chromium downloads (CSV, or any sent to save) over HTTP when a screenshot or actions are asked for", async () => {
    const csv = "sku,price\nTB-1,39.99";
    for (const url of [
      documentUrl("text/csv", csv),
      `${documentUrl("application/json", JSON_BODY)}&disposition=attachment`,
    ]) {
      const final = await scrapeAndWait(stack.api, key, {
        urls: [{ url, actions: [{ type: "click", selector: "#nothing-here" }] }],
        screenshot: true,
      });
      expectText(final, url.includes("csv") ? csv : JSON_BODY);
      expect(final.result!.data[0]!.screenshotUrl).toBeNull();
    }
  });

  it("reads a text document sent to save (a CSV export) as one shown, in both modes", async () => {
    const csv = "sku,price\nTB-1,39.99";
    for (const scrapeMode of ["default", "fast"]) {
      const final = await scrapeAndWait(stack.api, key, {
        urls: [{ url: `${documentUrl("text/csv", csv)}&disposition=attachment` }],
        scrapeMode,
      });
      expectText(final, csv);
    }
  });

  it("reads XHTML served as XML as a page (Markdown, title, links), in both modes and in the browser", async () => {
    const xhtml =
      '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">' +
      '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Old school</title></head><body><h1>Served as XML</h1>' +
      "<p>A page of its own, written as XHTML and sent as application/xml by an old server.</p></body></html>";
    const requests = [
      { urls: [{ url: documentUrl("application/xml", xhtml) }] },
      { urls: [{ url: documentUrl("application/xml", xhtml) }], scrapeMode: "fast" },
      { urls: [{ url: documentUrl("application/xml", xhtml) }], screenshot: true },
    ];
    for (const request of requests) {
      const final = await scrapeAndWait(stack.api, key, request);
      expect(final.status, JSON.stringify(final.error)).toBe("completed");
      expect(final.result!.data[0]).toMatchObject({ success: true, title: "Old school" });
      expect(final.result!.content).toContain("# Served as XML");
      expect(final.result!.content).not.toContain("<?xml");
    }
  });

  it("fails a text document with an error status or no text, in both modes", async () => {
    for (const scrapeMode of ["default", "fast"]) {
      const missing = await scrapeAndWait(stack.api, key, {
        urls: [{ url: documentUrl("application/json", '{"error":"not found"}', 404) }],
        scrapeMode,
      });
      expect(missing.status).toBe("failed");
      expect(missing.error).toContain("The page answered HTTP 404");
      const blank = await scrapeAndWait(stack.api, key, {
        urls: [{ url: documentUrl("text/plain", "  \n ") }],
        scrapeMode,
      });
      expect(blank.status).toBe("failed");
      expect(blank.error).toContain("The document is empty");
    }
  });

  it("fails a text document's error status at once in the default mode, not as a browser download", async () => {
    const { value: final, contexts } = await countingContexts(stack, () =>
      scrapeAndWait(stack.api, key, { urls: [{ url: documentUrl("text/csv", "a,b\n1,2", 404) }] }),
    );
    expect(final.status).toBe("failed");
    expect(final.error).toContain("The page answered HTTP 404");
    expect(contexts).toBe(0);
  });

  it("returns a short page of its own in both modes (not an empty shell)", async () => {
    for (const scrapeMode of ["default", "fast"]) {
      const final = await scrapeAndWait(stack.api, key, { urls: [{ url: site.url("/hello") }], scrapeMode });
      expect(final.status, JSON.stringify(final.error)).toBe("completed");
      expect(final.result!.content).toContain("Hello there");
      expect(final.result!.data[0]).toMatchObject({ success: true, title: "Hi" });
    }
  });

  it("a crawl takes plain text as a page (its text, no links), in both modes", async () => {
    for (const scrapeMode of ["default", "fast"]) {
      const id = await startCrawl(stack.api, key, {
        baseUrl: documentUrl("text/plain", "Notes: see <a href='/news'>news</a>"),
        maxPages: 2,
        scrapeMode,
      });
      const { final } = await pollCrawl(stack.api, key, id);
      expect(final.status, JSON.stringify(final)).toBe("completed");
      expect(final.result).toHaveLength(1);
      const markdown = await (await fetch(onOrigin(stack.origin, final.result![0]!.markdown_url!))).text();
      expect(markdown).toBe("Notes: see <a href='/news'>news</a>");
    }
  });

  it("a crawl refuses other text documents: a JSON start page fails as not a web page, in both modes", async () => {
    for (const scrapeMode of ["default", "fast"]) {
      const id = await startCrawl(stack.api, key, {
        baseUrl: documentUrl("application/json", JSON_BODY),
        maxPages: 1,
        scrapeMode,
      });
      const { final } = await pollCrawl(stack.api, key, id);
      expect(final.status, JSON.stringify(final)).toBe("failed");
      const pages = await call<{ pages: CrawlPage[] }>(`${stack.api}/crawl/${id}/pages`, { key });
      expect(pages.body.pages).toHaveLength(1);
      expect(pages.body.pages[0]).toMatchObject({
        status: "failed",
        error_message: "Not a web page (application/json)",
      });
    }
  });
});

describe("PDF documents", () => {
  const pdfUrl = (name: string, query: Record<string, string> = {}) =>
    site.url(`/pdf/${name}.pdf?${new URLSearchParams(query).toString()}`);

  function expectReport(final: PollBody): void {
    expect(final.status, JSON.stringify(final.error)).toBe("completed");
    expect(final.result!.content).toBe(REPORT_PDF_TEXT);
    expect(final.result!.data[0]).toMatchObject({
      success: true,
      error: null,
      title: REPORT_PDF.title,
      markdownContent: REPORT_PDF_TEXT,
      statusCode: 200,
    });
  }

  it("gives a PDF's text and title, read over HTTP without a browser, in both modes", async () => {
    for (const scrapeMode of ["default", "fast"]) {
      const { value: final, contexts } = await countingContexts(stack, () =>
        scrapeAndWait(stack.api, key, { urls: [{ url: pdfUrl("report") }], scrapeMode }),
      );
      expectReport(final);
      expect(contexts, scrapeMode).toBe(0);
    }
  });

  it("reads a PDF sent to save, sent untyped, or sent as octet-stream from a .pdf path", async () => {
    const queries: Array<Record<string, string>> = [
      { disposition: 'attachment; filename="report.pdf"' },
      { type: "none" },
      { type: "application/octet-stream" },
    ];
    for (const query of queries) {
      const final = await scrapeAndWait(stack.api, key, { urls: [{ url: pdfUrl("report", query) }] });
      expectReport(final);
    }
  });

  it("reads a PDF's text in the browser path too (a screenshot asked for: Chromium's viewer)", async () => {
    const { value: final, contexts } = await countingContexts(stack, () =>
      scrapeAndWait(stack.api, key, { urls: [{ url: pdfUrl("report") }], screenshot: true }),
    );
    expect(contexts).toBe(1);
    expectReport(final);
    expect(final.result!.data[0]!.screenshotUrl).toMatch(/^http/);
  });

  it("reads an untyped PDF Chromium shows in its viewer (a screenshot asked for) over HTTP", async () => {
    const final = await scrapeAndWait(stack.api, key, {
      urls: [{ url: pdfUrl("report", { type: "none" }) }],
      screenshot: true,
    });
    expectReport(final);
  });

  it("gives a file's own failure in the browser path (too large), not a download refusal", async () => {
    const small = await startTestStack({ env: { MAX_PAGE_BYTES: "70000" } });
    try {
      const k = await small.createKey(100);
      for (const url of [pdfUrl("long", { disposition: "attachment" }), pdfUrl("long")]) {
        const final = await scrapeAndWait(small.api, k.key, { urls: [{ url }], screenshot: true });
        expect(final.status, url).toBe("failed");
        expect(final.error, url).toMatch(/too large|more than 70000 bytes/);
      }
    } finally {
      await small.stop();
    }
  });

  it("reads a PDF that Chromium downloads (sent to save) over HTTP, with actions asked for, which it does not take", async () => {
    const final = await scrapeAndWait(stack.api, key, {
      urls: [
        {
          url: pdfUrl("report", { disposition: "attachment" }),
          actions: [{ type: "click", selector: "#nothing-here" }],
        },
      ],
      screenshot: true,
    });
    expectReport(final);
    expect(final.result!.data[0]!.screenshotUrl).toBeNull();
  });

  it("counts a PDF's bytes once against MAX_PAGE_BYTES when the viewer loaded it and HTTP reads it", async () => {
    const small = await startTestStack({ env: { MAX_PAGE_BYTES: "150000" } });
    try {
      const k = await small.createKey(100);
      const final = await scrapeAndWait(small.api, k.key, { urls: [{ url: pdfUrl("long") }], screenshot: true });
      expect(final.status, JSON.stringify(final.error)).toBe("completed");
      expect(final.result!.data[0]).toMatchObject({ success: true, title: LONG_PDF.title });
      expect(final.result!.content).toContain(LONG_PDF.pages[39]![39]);
      expect(final.result!.data[0]!.screenshotUrl).toMatch(/^http/);
    } finally {
      await small.stop();
    }
  });

  it("fails a PDF without text, with a password, damaged, or with an error status, saying which", async () => {
    const cases: Array<[string, Record<string, string>, string]> = [
      ["scanned", {}, "The PDF has no text to read (scanned pages? There is no OCR)"],
      ["locked", {}, "The PDF is password-protected"],
      ["broken", {}, "Not a readable PDF: Invalid PDF structure."],
      ["looped", {}, "Not a readable PDF: Pages tree contains circular reference."],
      ["report", { status: "404" }, "The page answered HTTP 404"],
    ];
    for (const scrapeMode of ["default", "fast"]) {
      for (const [name, query, error] of cases) {
        const { value: final, contexts } = await countingContexts(stack, () =>
          scrapeAndWait(stack.api, key, { urls: [{ url: pdfUrl(name, query) }], scrapeMode }),
        );
        expect(final.status, `${scrapeMode} ${name}`).toBe("failed");
        expect(final.error, `${scrapeMode} ${name}`).toContain(error);
        expect(contexts, `${scrapeMode} ${name}`).toBe(0);
      }
    }
  });

  it("a damaged PDF fails its own URL only, beside a good one", async () => {
    const final = await scrapeAndWait(stack.api, key, { urls: [{ url: pdfUrl("report") }, { url: pdfUrl("looped") }] });
    expect(final.status, JSON.stringify(final.error)).toBe("completed");
    expect(final.result!.data[0]).toMatchObject({ success: true, markdownContent: REPORT_PDF_TEXT });
    expect(final.result!.data[1]).toMatchObject({
      success: false,
      error: "Not a readable PDF: Pages tree contains circular reference.",
    });
  });

  it("a crawl refuses a PDF start page as not a web page, typed or untyped, in both modes", async () => {
    for (const scrapeMode of ["default", "fast"]) {
      const queries: Array<Record<string, string>> = [{}, { type: "none" }];
      for (const query of queries) {
        const id = await startCrawl(stack.api, key, { baseUrl: pdfUrl("report", query), maxPages: 1, scrapeMode });
        const { final } = await pollCrawl(stack.api, key, id);
        expect(final.status, JSON.stringify(final)).toBe("failed");
        const pages = await call<{ pages: CrawlPage[] }>(`${stack.api}/crawl/${id}/pages`, { key });
        expect(pages.body.pages[0], `${scrapeMode} ${JSON.stringify(query)}`).toMatchObject({
          status: "failed",
          error_message: "Not a web page (a PDF document)",
        });
      }
    }
  });
});

describe("web components", () => {
  const rendered = ["Shadow Widget", "Rendered inside a shadow root", "Price: $12.50", "Fallback of an empty slot"];
  const hidden = ["No name", "Unassigned light child", "Closed shadow secret"];

  it("a scrape gives the content of their open shadow roots, as rendered", async () => {
    const final = await scrapeAndWait(stack.api, key, { urls: [{ url: site.url("/components") }] });
    expect(final.status, JSON.stringify(final.error)).toBe("completed");
    const markdown = final.result!.data[0]!.markdownContent;
    for (const text of rendered) expect(markdown).toContain(text);
    for (const text of hidden) expect(markdown).not.toContain(text);
    expect(markdown.indexOf("Shadow Widget")).toBeLessThan(markdown.indexOf("Price: $12.50"));
  });

  it("declarative shadow DOM (no script) goes to the browser, which composes it", async () => {
    const { value: final, contexts } = await countingContexts(stack, () =>
      scrapeAndWait(stack.api, key, { urls: [{ url: site.url("/declarative-components") }] }),
    );
    expect(contexts).toBe(1);
    expect(final.status, JSON.stringify(final.error)).toBe("completed");
    const markdown = final.result!.data[0]!.markdownContent;
    expect(markdown).toContain("Declared Widget");
    expect(markdown).toContain("Rendered inside a declarative shadow root");
    expect(markdown).not.toContain("No name");
  });

  it("a fast crawl keeps a declarative-shadow-DOM page over HTTP, without that content", async () => {
    const id = await startCrawl(stack.api, key, {
      baseUrl: site.url("/declarative-components"),
      maxPages: 1,
      scrapeMode: "fast",
    });
    const { final } = await pollCrawl(stack.api, key, id);
    expect(final.status, JSON.stringify(final)).toBe("completed");
    const markdown = await (await fetch(onOrigin(stack.origin, final.result![0]!.markdown_url!))).text();
    expect(markdown).toContain("Catalogue");
  });

  it("a crawled page too", async () => {
    const id = await startCrawl(stack.api, key, { baseUrl: site.url("/components"), maxPages: 1 });
    const { final } = await pollCrawl(stack.api, key, id);
    expect(final.status, JSON.stringify(final)).toBe("completed");
    const markdown = await (await fetch(onOrigin(stack.origin, final.result![0]!.markdown_url!))).text();
    for (const text of rendered) expect(markdown).toContain(text);
    for (const text of hidden) expect(markdown).not.toContain(text);
  });
});
