import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, it } from "vitest";
import { crawl } from "./helpers/crawl.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

let stack: TestStack;
let key: string;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  stack = await startTestStack();
  ({ key } = await stack.createKey(1000));
});
afterAll(async () => {
  for (const c of closers) await c();
  await stack?.stop();
});

type Answer = { status: number; body?: string; location?: string };
async function startSite(routes: Record<string, (hit: number) => Answer>) {
  const hits = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    const route = routes[path];
    const a = route ? route(n) : { status: 404, body: "nf" };
    const body = a.body ?? "";
    res.writeHead(a.status, {
      "content-type": "text/html; charset=utf-8",
      "content-length": Buffer.byteLength(body),
      ...(a.location ? { location: a.location } : {}),
    });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: (p: string) => hits.get(p) ?? 0,
  };
}
const page = (title: string, links: string[]) => () => ({
  status: 200,
  body: `<!DOCTYPE html><html><head><title>${title}</title></head><body><main><h1>${title}</h1><p>${title}: a page of the test site with enough text to be read as a page.</p><ul>${links.map((l) => `<li><a href="${l}">${l}</a></li>`).join("")}</ul></main></body></html>`,
});
const summary = (pages: Array<{ url: string; status: string; title: string; error_message: string | null }>) =>
  pages.map((p) => [new URL(p.url).pathname, p.status, p.status === "success" ? p.title : p.error_message]);

describe("zz-r redirect duplicates", () => {
  it("same-level target cut by maxPages: content lost", async () => {
    const site = await startSite({
      "/": page("Home", ["/short", "/x1", "/x2", "/target"]),
      "/short": () => ({ status: 301, location: "/target" }),
      "/x1": page("X1", []),
      "/x2": page("X2", []),
      "/target": page("Target", []),
    });
    const done = await crawl(stack.api, key, { baseUrl: `${site.origin}/`, maxPages: 3, scrapeMode: "fast" });
    console.log("MAXPAGES", JSON.stringify(summary(done.result!)), "target hits", site.hits("/target"));
  });

  it("target that failed: redirected page thrown away as duplicate", async () => {
    const site = await startSite({
      "/": page("Home", ["/b", "/a"]),
      "/b": (n) => (n === 1 ? { status: 503, body: "busy" } : page("B", [])()),
      "/a": () => ({ status: 301, location: "/b" }),
    });
    const done = await crawl(stack.api, key, { baseUrl: `${site.origin}/`, maxPages: 10, scrapeMode: "fast" });
    console.log("FAILEDTARGET", JSON.stringify(summary(done.result!)), "b hits", site.hits("/b"));
  });
});
