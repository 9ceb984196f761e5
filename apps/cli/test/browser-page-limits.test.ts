import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crawl } from "./helpers/crawl.ts";
import { scrapeAndWait } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

// A page loaded in Chromium, scraped or crawled, is held to the byte cap (MAX_PAGE_BYTES) and judged
// (a CAPTCHA wall is not a success): script shells (so the HTTP-first answer sends them to the
// browser) whose script downloads more, or renders a wall. The downloads are fast loopback reads
// that can pass the cap and end between two of the limit's polls: the count is read once more
// when the page has been read.

const CAP = 1024 * 1024;
let site: http.Server;
let origin: string;
let stack: TestStack;
let key: string;

const PROSE =
  "<p>This article is long enough to be read as a page of its own rather than an empty shell: " +
  "it has a few sentences of plain text about nothing in particular, written out by the script.</p>";

/**
 * An empty root filled by a script that fetches `/greedy/blob?kb=N` (and, for `prose`, writes a
 * paragraph: a scrape judges a page with almost no text as empty); `/greedy/` links to the big one.
 */
function shell(kb: number, prose = false): string {
  return `<!doctype html><html><head><title>Greedy ${kb}</title></head><body><div id="root"></div>
<a href="/greedy/big/">more</a> <a href="/greedy/wall/">wall</a>
<script>
fetch("/greedy/blob?kb=${kb}").then((r) => r.text()).then((t) => {
  document.getElementById("root").innerHTML = "<p>Downloaded " + t.length + " bytes</p>"${prose ? ` + ${JSON.stringify(PROSE)}` : ""};
});
</script></body></html>`;
}

/** A shell whose script renders a CAPTCHA wall (a reCAPTCHA widget and "Verify you are human"). */
const WALL_SHELL = `<!doctype html><html><head><title>Loading</title></head><body><div id="root"></div>
<script>
document.title = "Security check";
document.getElementById("root").innerHTML =
  '<h1>Verify you are human</h1><p>Please complete the security check to access this site.</p>' +
  '<form action="/captcha" method="post"><div class="g-recaptcha" data-sitekey="6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI"></div>' +
  '<button type="submit">Continue</button></form>';
</script></body></html>`;

beforeAll(async () => {
  site = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/greedy/blob") {
      const kb = Number(url.searchParams.get("kb"));
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("x".repeat(kb * 1024));
      return;
    }
    if (url.pathname === "/greedy/wall/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(WALL_SHELL);
      return;
    }
    const kb = { "/greedy/": 64, "/greedy/article": 64, "/greedy/big/": 4096 }[url.pathname];
    if (kb === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(shell(kb, url.pathname === "/greedy/article"));
  });
  await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  stack = await startTestStack({ env: { MAX_PAGE_BYTES: String(CAP) } });
  ({ key } = await stack.createKey(1000));
});
afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => site?.close(resolve));
});

describe("crawl pages in the browser", () => {
  it("fail with the byte cap's reason past MAX_PAGE_BYTES, or as blocked when they render a CAPTCHA wall; a page under the cap renders", async () => {
    const body = await crawl(stack.api, key, { baseUrl: `${origin}/greedy/`, maxPages: 5 });
    const byPath = new Map(body.result!.map((p) => [new URL(p.url).pathname, p]));
    expect([...byPath.keys()].sort()).toEqual(["/greedy/", "/greedy/big/", "/greedy/wall/"]);
    // Rendered in the browser: the text exists only once the script ran.
    expect(byPath.get("/greedy/")).toMatchObject({ status: "success" });
    expect(byPath.get("/greedy/")!.data).toContain(`Downloaded ${64 * 1024} bytes`);
    expect(byPath.get("/greedy/big/")).toMatchObject({ status: "failed" });
    expect(byPath.get("/greedy/big/")!.error_message).toMatch(/more than 1048576 bytes \(MAX_PAGE_BYTES\)/);
    // A short page is fine in a crawl (link hubs); a CAPTCHA wall is the page's failure, as in a scrape.
    expect(byPath.get("/greedy/wall/")).toMatchObject({ status: "failed" });
    expect(byPath.get("/greedy/wall/")!.error_message).toMatch(/^Blocked by a CAPTCHA/);
  });
});

describe("scraped pages in the browser", () => {
  it("fail with the byte cap's reason past MAX_PAGE_BYTES; a page under the cap renders", async () => {
    const big = await scrapeAndWait(stack.api, key, { urls: [{ url: `${origin}/greedy/big/` }] });
    // Its only URL failed, so the job failed, with the URL's reason.
    expect(big.status, JSON.stringify(big)).toBe("failed");
    expect(big.error).toMatch(/more than 1048576 bytes \(MAX_PAGE_BYTES\)/);
    expect(big.result).toBeNull();
    const small = await scrapeAndWait(stack.api, key, { urls: [{ url: `${origin}/greedy/article` }] });
    expect(small.status, JSON.stringify(small)).toBe("completed");
    expect(small.result!.data[0]!.markdownContent).toContain(`Downloaded ${64 * 1024} bytes`);
    expect(small.result!.data[0]!.markdownContent).toContain("long enough to be read");
  });
});
