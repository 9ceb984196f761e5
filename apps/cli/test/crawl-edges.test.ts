// Crawls of small sites served by the test itself (robots.txt is per origin, so each site has its
// own): a sitemap much larger than maxPages, redirects between pages, and a robots.txt that cannot
// be read.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crawl, pathsOf } from "./helpers/crawl.ts";
import { call } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

let stack: TestStack;
let key: string;
const sites: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  stack = await startTestStack();
  ({ key } = await stack.createKey(1000));
});
afterAll(async () => {
  for (const site of sites) await site.close();
  await stack?.stop();
});

interface Site {
  origin: string;
  /** The same server under the other host name (localhost ↔ 127.0.0.1). */
  otherOrigin: string;
  hits(path: string): number;
}

type Route = (
  origin: string,
  req: IncomingMessage,
) => { status: number; body?: string; location?: string; type?: string };

/** A site answering from `routes` (exact paths; anything else is 404), counting requests per path. */
async function startSite(routes: Record<string, Route>): Promise<Site> {
  const hits = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const route = routes[path];
    const answer = route ? route(`http://${req.headers.host ?? ""}`, req) : { status: 404, body: "not found" };
    const body = answer.body ?? "";
    res.writeHead(answer.status, {
      "content-type": answer.type ?? (path.endsWith(".txt") ? "text/plain" : "text/html; charset=utf-8"),
      "content-length": Buffer.byteLength(body),
      ...(answer.location ? { location: answer.location } : {}),
    });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  sites.push({
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    otherOrigin: `http://localhost:${port}`,
    hits: (path) => hits.get(path) ?? 0,
  };
}

const page = (title: string, links: string[]): Route => {
  const body = `<!DOCTYPE html><html><head><title>${title}</title></head><body><main><h1>${title}</h1>
<p>${title}: a page of the test site with enough text to be read as a page.</p>
<ul>${links.map((l) => `<li><a href="${l}">${l}</a></li>`).join("")}</ul></main></body></html>`;
  return () => ({ status: 200, body });
};
const redirect =
  (status: number, to: string | ((origin: string) => string)): Route =>
  (origin) => ({ status, location: typeof to === "string" ? to : to(origin) });
/** A page that moves on by script (loaded in the browser: HTTP alone cannot follow it). */
const scriptRedirect =
  (to: string): Route =>
  () => ({
    status: 200,
    body: `<!DOCTYPE html><html><head><title>Moving</title></head><body><p>Moving…</p><script>location.replace(${JSON.stringify(to)});</script></body></html>`,
  });
const text =
  (body: string): Route =>
  () => ({ status: 200, body, type: "text/plain" });

describe("a sitemap larger than maxPages", () => {
  it("does not starve the links found on pages: the base page's links come first, sitemap URLs after", async () => {
    const listed = Array.from({ length: 300 }, (_, i) => `/p/${i + 1}`);
    const routes: Record<string, Route> = {
      "/robots.txt": (origin) => ({ status: 200, body: `User-agent: *\nAllow: /\n\nSitemap: ${origin}/sitemap.xml\n` }),
      "/sitemap.xml": (origin) => ({
        status: 200,
        type: "application/xml",
        body: `<?xml version="1.0"?><urlset>${listed.map((p) => `<url><loc>${origin}${p}</loc></url>`).join("")}</urlset>`,
      }),
      "/": page("Home", ["/about", "/pricing", "/contact", "/blog"]),
      "/about": page("About", ["/"]),
      "/pricing": page("Pricing", ["/"]),
      "/contact": page("Contact", ["/"]),
      "/blog": page("Blog", ["/blog/1"]),
    };
    for (const p of listed) routes[p] = page(`Listed ${p}`, ["/"]);
    const site = await startSite(routes);
    const small = await crawl(stack.api, key, { baseUrl: `${site.origin}/`, maxPages: 5, scrapeMode: "fast" });
    expect(pathsOf(small.result!)).toEqual(["/", "/about", "/pricing", "/contact", "/blog"]);
    // With room left after the links, sitemap URLs follow (before the links' own links, one level deeper).
    const more = await crawl(stack.api, key, { baseUrl: `${site.origin}/`, maxPages: 8, scrapeMode: "fast" });
    expect(pathsOf(more.result!)).toEqual(["/", "/about", "/pricing", "/contact", "/blog", "/p/1", "/p/2", "/p/3"]);
  });
});

describe("redirects", () => {
  let site: Site;
  beforeAll(async () => {
    site = await startSite({
      "/robots.txt": text("User-agent: *\nDisallow: /en/private/\n"),
      "/": redirect(302, "/en/"),
      "/en/": page("Home", [
        "/en/old-about",
        "/en/about",
        "/en/",
        "/en/index.html",
        "/en/away",
        "/en/secret",
        "/en/outside",
        "/en/contact",
        "/en/team-old",
      ]),
      "/en/index.html": page("Home (index.html)", []),
      "/en/old-about": redirect(301, "/en/about"),
      "/en/about": page("About", ["/", "/en/about"]),
      // To the same server under another host name: another site.
      "/en/away": redirect(302, () => `${site.otherOrigin}/en/contact`),
      "/en/secret": redirect(302, "/en/private/page"),
      "/en/private/page": page("Private", []),
      "/en/outside": redirect(301, "/fr/"),
      "/fr/": page("Accueil", []),
      "/en/contact": page("Contact", ["/en/about-us", "/en/team"]),
      "/en/about-us": redirect(302, "/en/about"),
      "/en/team-old": redirect(301, "/en/team"),
      "/en/team": page("Team", []),
      "/js/": page("Script redirects", ["/js/old", "/js/new", "/js/leave"]),
      "/js/old": scriptRedirect("/js/new"),
      "/js/new": page("New", []),
      "/js/leave": scriptRedirect("/fr/"),
    });
  });

  const summary = (pages: Array<{ url: string; status: string; title: string; error_message: string | null }>) =>
    pages.map((p) => [new URL(p.url).pathname, p.status, p.status === "success" ? p.title : p.error_message]);

  it("keeps each page once under the URL linked, records where redirects land, and refuses those that leave the crawl's scope or robots.txt", async () => {
    const paths = ["/en/", "/en/index.html", "/en/about", "/en/team", "/en/private/page", "/fr/"];
    const before = paths.map((p) => site.hits(p));
    const done = await crawl(stack.api, key, { baseUrl: `${site.origin}/`, maxPages: 20, scrapeMode: "fast" });
    expect(summary(done.result!)).toEqual([
      // The base URL's own redirect is followed (its scope stays the base URL's: here the whole host).
      ["/", "success", "Home"],
      // Redirected to a page the crawl has at its level: a duplicate, whichever of the two loads first.
      ["/en/old-about", "failed", `Duplicate: redirected to ${site.origin}/en/about, which this crawl already has`],
      ["/en/about", "success", "About"],
      ["/en/away", "failed", `Redirected out of scope to ${site.otherOrigin}/en/contact`],
      ["/en/secret", "failed", `Redirected to ${site.origin}/en/private/page, which robots.txt disallows`],
      ["/en/outside", "success", "Accueil"],
      ["/en/contact", "success", "Contact"],
      // Its target, linked one level deeper only, is this page (and is not loaded again from /en/contact).
      ["/en/team-old", "success", "Team"],
      ["/en/about-us", "failed", `Duplicate: redirected to ${site.origin}/en/about, which this crawl already has`],
    ]);
    expect(paths.map((p, i) => site.hits(p) - before[i]!)).toEqual([1, 0, 3, 1, 1, 1]);
    // Only the pages kept are charged (5 × 2 credits).
    const job = await call<{ credits_used: number }>(`${stack.api}/crawl/job/${done.jobId}`, { key });
    expect(job.body.credits_used).toBe(5 * 2);
    const failed = done.result!.filter((p) => p.status === "failed");
    for (const p of failed) expect(p).toMatchObject({ html: null, markdown: null, htmlKey: null, data: null });
  });

  it("refuses a redirect out of the base path", async () => {
    const done = await crawl(stack.api, key, {
      baseUrl: `${site.origin}/en/`,
      maxPages: 20,
      scrapeMode: "fast",
      includePaths: ["/en/outside"],
    });
    expect(summary(done.result!)).toEqual([
      ["/en/", "success", "Home"],
      ["/en/outside", "failed", `Redirected out of scope to ${site.origin}/fr/`],
    ]);
  });

  it("does the same for a redirect made by script in the browser", async () => {
    const done = await crawl(stack.api, key, { baseUrl: `${site.origin}/js/`, maxPages: 20 });
    expect(summary(done.result!)).toEqual([
      ["/js/", "success", "Script redirects"],
      ["/js/old", "failed", `Duplicate: redirected to ${site.origin}/js/new, which this crawl already has`],
      ["/js/new", "success", "New"],
      ["/js/leave", "failed", `Redirected out of scope to ${site.origin}/fr/`],
    ]);
  });
});

describe("a redirect to a page whose own load failed", () => {
  it("keeps the redirected page as a normal page (stored, charged, links followed): the crawl has no copy of the target", async () => {
    let bLoads = 0;
    const site = await startSite({
      "/": page("Home", ["/b", "/c"]),
      // The target's own load fails; loaded again through the redirect, it answers.
      "/b": (origin, req) => (++bLoads === 1 ? { status: 404, body: "not yet" } : page("B", ["/d"])(origin, req)),
      "/c": page("C", ["/a"]),
      "/a": redirect(301, "/b"),
      "/d": page("D", []),
    });
    const done = await crawl(stack.api, key, { baseUrl: `${site.origin}/`, maxPages: 20, scrapeMode: "fast" });
    expect(
      done.result!.map((p) => [new URL(p.url).pathname, p.status, p.status === "success" ? p.title : p.error_message]),
    ).toEqual([
      ["/", "success", "Home"],
      ["/b", "failed", "The page answered HTTP 404"],
      ["/c", "success", "C"],
      ["/a", "success", "B"],
      // Found on the redirected page's content.
      ["/d", "success", "D"],
    ]);
    expect(site.hits("/b")).toBe(2);
    const kept = done.result!.find((p) => new URL(p.url).pathname === "/a")!;
    expect(kept.htmlKey).not.toBeNull();
    expect(kept.markdown).toEqual(expect.any(String));
    const job = await call<{ credits_used: number }>(`${stack.api}/crawl/job/${done.jobId}`, { key });
    expect(job.body.credits_used).toBe(4 * 2);
  });
});

describe("robots.txt that cannot be read", () => {
  it("answering 5xx disallows the site but the base URL (RFC 9309), and the crawl says so; 4xx allows everything", async () => {
    let robots = 503;
    const site = await startSite({
      "/robots.txt": () => ({ status: robots, body: "try later" }),
      "/": page("Home", ["/a", "/b"]),
      "/a": page("A", []),
      "/b": page("B", []),
    });
    const down = await crawl(stack.api, key, { baseUrl: `${site.origin}/`, maxPages: 10, scrapeMode: "fast" });
    expect(pathsOf(down.result!)).toEqual(["/"]);
    expect(site.hits("/a") + site.hits("/b")).toBe(0);
    expect(down.notes).toEqual([
      `robots.txt of ${site.origin} could not be read (HTTP 503): as RFC 9309 asks, its pages were treated as disallowed and not crawled (the base URL is loaded all the same).`,
    ]);
    robots = 404;
    const missing = await crawl(stack.api, key, { baseUrl: `${site.origin}/`, maxPages: 10, scrapeMode: "fast" });
    expect(pathsOf(missing.result!)).toEqual(["/", "/a", "/b"]);
    expect(missing.notes).toBeUndefined();
  });
});
