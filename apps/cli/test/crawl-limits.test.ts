import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crawl } from "./helpers/crawl.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

// A crawl page loaded in Chromium is held to the same byte cap as a scraped page (MAX_PAGE_BYTES):
// a script shell (so the HTTP-first answer sends it to the browser) whose script downloads more.

const CAP = 1024 * 1024;
let site: http.Server;
let origin: string;
let stack: TestStack;
let key: string;

/** An empty root filled by a script that fetches `/greedy/blob?kb=N`; `/greedy/` links to the big one. */
function shell(kb: number): string {
  return `<!doctype html><html><head><title>Greedy ${kb}</title></head><body><div id="root"></div>
<a href="/greedy/big/">more</a>
<script>
fetch("/greedy/blob?kb=${kb}").then((r) => r.text()).then((t) => {
  document.getElementById("root").innerHTML = "<p>Downloaded " + t.length + " bytes</p>";
});
</script></body></html>`;
}

beforeAll(async () => {
  site = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/greedy/blob") {
      const kb = Number(url.searchParams.get("kb"));
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("x".repeat(kb * 1024));
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
  it("fail with the byte cap's reason when their downloads pass MAX_PAGE_BYTES; a page under it renders", async () => {
    const body = await crawl(stack.api, key, { baseUrl: `${origin}/greedy/`, maxPages: 5 });
    const byPath = new Map(body.result!.map((p) => [new URL(p.url).pathname, p]));
    expect([...byPath.keys()].sort()).toEqual(["/greedy/", "/greedy/big/"]);
    // Rendered in the browser: the text exists only once the script ran.
    expect(byPath.get("/greedy/")).toMatchObject({ status: "success" });
    expect(byPath.get("/greedy/")!.data).toContain(`Downloaded ${64 * 1024} bytes`);
    expect(byPath.get("/greedy/big/")).toMatchObject({ status: "failed" });
    expect(byPath.get("/greedy/big/")!.error_message).toMatch(/more than 1048576 bytes \(MAX_PAGE_BYTES\)/);
  });
});
