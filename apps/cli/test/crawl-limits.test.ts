import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crawl } from "./helpers/crawl.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

// A crawl page loaded in Chromium is held to the same byte cap as a scraped page (MAX_PAGE_BYTES)
// and judged the same way (a CAPTCHA wall is not a success): script shells (so the HTTP-first
// answer sends them to the browser) whose script downloads more, or renders a wall.

const CAP = 1024 * 1024;
let site: http.Server;
let origin: string;
let stack: TestStack;
let key: string;

/** An empty root filled by a script that fetches `/greedy/blob?kb=N`; `/greedy/` links to the big one. */
function shell(kb: number): string {
  return `<!doctype html><html><head><title>Greedy ${kb}</title></head><body><div id="root"></div>
<a href="/greedy/big/">more</a> <a href="/greedy/wall/">wall</a>
<script>
fetch("/greedy/blob?kb=${kb}").then((r) => r.text()).then((t) => {
  document.getElementById("root").innerHTML = "<p>Downloaded " + t.length + " bytes</p>";
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
    const kb = url.pathname === "/greedy/" ? 64 : url.pathname === "/greedy/big/" ? 4096 : -1;
    if (kb < 0) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(shell(kb));
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
