import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crawl, type CrawlBody } from "./helpers/crawl.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

// A crawl page is judged whether it was loaded over HTTP or in Chromium: in `scrapeMode: "fast"`
// the HTTP answer is final, so a static CAPTCHA wall or login wall fails the page (as it fails a
// scraped URL) instead of being kept as the page's content. A short static page (a link hub) is a
// page in its own right, in either mode.

const HUB = `<!doctype html><html><head><title>Hub</title></head><body>
<a href="/hub/wall">wall</a> <a href="/hub/login">login</a> <a href="/hub/article">article</a></body></html>`;

const WALL = `<!doctype html><html><head><title>Security check</title></head><body>
<h1>Verify you are human</h1><p>Please complete the security check to access this site.</p>
<form action="/captcha" method="post"><div class="g-recaptcha" data-sitekey="6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI"></div>
<button type="submit">Continue</button></form></body></html>`;

const LOGIN = `<!doctype html><html><head><title>Sign in</title></head><body>
<h1>Sign in to continue</h1><p>You must be logged in to view this page.</p>
<form action="/session" method="post"><label>Email <input type="email" name="email"></label>
<label>Password <input type="password" name="password"></label><button type="submit">Sign in</button></form>
</body></html>`;

const ARTICLE = `<!doctype html><html><head><title>Field notes</title></head><body><article>
<h1>Field notes</h1><p>${"The orb weaver spins a new web every evening and takes it down by morning. ".repeat(6)}</p>
</article></body></html>`;

const PAGES: Record<string, string> = { "/hub/": HUB, "/hub/wall": WALL, "/hub/login": LOGIN, "/hub/article": ARTICLE };

let site: http.Server;
let origin: string;
let stack: TestStack;
let key: string;

beforeAll(async () => {
  site = http.createServer((req, res) => {
    const page = PAGES[new URL(req.url ?? "/", "http://x").pathname];
    if (page === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(page);
  });
  await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  stack = await startTestStack();
  ({ key } = await stack.createKey(1000));
});
afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => site?.close(resolve));
});

const byPath = (body: CrawlBody) => new Map(body.result!.map((p) => [new URL(p.url).pathname, p]));

describe("crawl pages judged over HTTP", () => {
  it.each(["fast", "default"] as const)(
    "scrapeMode %s: a CAPTCHA wall and a login wall fail the page; a short hub and an article are pages",
    async (scrapeMode) => {
      const pages = byPath(await crawl(stack.api, key, { baseUrl: `${origin}/hub/`, maxPages: 10, scrapeMode }));
      expect([...pages.keys()].sort()).toEqual(["/hub/", "/hub/article", "/hub/login", "/hub/wall"]);
      expect(pages.get("/hub/")).toMatchObject({ status: "success" });
      expect(pages.get("/hub/article")).toMatchObject({ status: "success" });
      expect(pages.get("/hub/article")!.data).toContain("takes it down by morning");
      expect(pages.get("/hub/wall")).toMatchObject({ status: "failed" });
      expect(pages.get("/hub/wall")!.error_message).toMatch(/^Blocked by a CAPTCHA/);
      expect(pages.get("/hub/login")).toMatchObject({ status: "failed" });
      expect(pages.get("/hub/login")!.error_message).toMatch(/^Blocked by a login wall/);
    },
  );
});
