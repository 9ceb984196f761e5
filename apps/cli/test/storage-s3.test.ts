import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { getInstanceSecret } from "@orbweaver/db";
import { signBlobUrl } from "@orbweaver/storage";
import { startS3TestServer, type S3TestServer } from "@orbweaver/storage/testing";
import { startFixtureSite, type FixtureSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crawl, onOrigin, readZip, type CrawlBody } from "./helpers/crawl.ts";
import { call, pollScrape } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

/** Every object of this stack lives under this key prefix (S3_PREFIX). */
const PREFIX = "e2e-blobs";

let site: FixtureSite;
let s3: S3TestServer;
let stack: TestStack;
let key: string;

let s3Stopped = false;

beforeAll(async () => {
  site = await startFixtureSite();
  s3 = await startS3TestServer({ bucket: "orbweaver-e2e" });
  stack = await startTestStack({ env: s3.env(PREFIX) });
  key = (await stack.createKey(200)).key;
});
afterAll(async () => {
  await stack?.stop();
  if (!s3Stopped) await s3?.close();
  await site?.close();
  if (stack) await rm(stack.config.dataDir, { recursive: true, force: true });
});

/** The blob key a signed link names. */
const keyOfLink = (link: string) => decodeURIComponent(new URL(link).pathname.replace(/^\/files\//, ""));

async function download(
  link: string,
): Promise<{ status: number; type: string | null; length: string | null; bytes: Buffer }> {
  const res = await fetch(onOrigin(stack.origin, link));
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    length: res.headers.get("content-length"),
    bytes: Buffer.from(await res.arrayBuffer()),
  };
}

describe("blobs in an S3-compatible store (STORAGE_DRIVER=s3)", () => {
  it("runs with the S3 settings", () => {
    expect(stack.config.storage).toMatchObject({ driver: "s3", bucket: "orbweaver-e2e", prefix: PREFIX });
  });

  it("puts a scrape's screenshot in the bucket and serves it behind the signed link", async () => {
    const submit = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      body: { urls: [{ url: site.url("/news") }], screenshot: true },
    });
    expect(submit.status).toBe(202);
    const { final } = await pollScrape(stack.api, key, submit.body.jobId);
    expect(final.status).toBe("completed");
    const link = final.result!.screenshots[0]!;
    const blobKey = keyOfLink(link);
    expect(blobKey).toMatch(/^screenshots\//);

    const stored = await s3.readObject(`${PREFIX}/${blobKey}`);
    expect(stored?.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    const got = await download(link);
    expect(got.status).toBe(200);
    expect(got.type).toBe("image/png");
    expect(got.length).toBe(String(stored!.length));
    expect(got.bytes.equals(stored!)).toBe(true);
    // A viewport screenshot: 1280 × 800 in the IHDR chunk.
    expect([got.bytes.readUInt32BE(16), got.bytes.readUInt32BE(20)]).toEqual([1280, 800]);

    // Tampered links are refused before the store is asked; a validly signed link to nothing is 404.
    const u = new URL(onOrigin(stack.origin, link));
    const sig = u.searchParams.get("signature")!;
    u.searchParams.set("signature", `${sig.slice(0, -2)}${sig.endsWith("AA") ? "BB" : "AA"}`);
    expect((await fetch(u)).status).toBe(403);
    const secret = await getInstanceSecret(stack.db);
    const missing = await call<{ status: string }>(
      signBlobUrl({ publicUrl: stack.origin, key: "screenshots/none/0.png", secret }),
    );
    expect(missing.status).toBe(404);
    expect(missing.body.status).toBe("error");
  });

  it("puts a crawl's HTML and Markdown in the bucket, serves them and builds the ZIP from them", async () => {
    const done: CrawlBody = await crawl(stack.api, key, { baseUrl: site.url("/site/"), maxPages: 3 });
    const pages = done.result!;
    expect(pages).toHaveLength(3);
    const keys = await s3.listKeys(`${PREFIX}/crawl/${done.jobId}/`);
    expect(keys).toEqual(pages.flatMap((p) => [`${PREFIX}/${p.htmlKey}`, `${PREFIX}/${p.markdownKey}`]).sort());
    for (const page of pages) {
      const html = await download(page.html_url!);
      expect(html.status).toBe(200);
      expect(html.type).toContain("text/html");
      expect(html.bytes.equals((await s3.readObject(`${PREFIX}/${page.htmlKey}`))!)).toBe(true);
      expect(html.bytes.toString()).toContain(`<title>${page.title}</title>`);
      const md = await download(page.markdown_url!);
      expect(md.status).toBe(200);
      expect(md.type).toContain("text/markdown");
      expect(md.bytes.toString()).toBe(page.data);
    }
    expect(pages[0]!.title).toBe("Acme Docs - Home");

    const zip = await fetch(`${stack.api}/crawl/${done.jobId}/download`, { headers: { "x-api-key": key } });
    expect(zip.status).toBe(200);
    const files = readZip(Buffer.from(await zip.arrayBuffer()));
    expect(files.size).toBe(1 + 3 * 3);
    expect(files.get("001-site/page.html")!.toString()).toContain("<title>Acme Docs - Home</title>");
    expect(files.get("001-site/page.md")!.toString()).toBe(pages[0]!.data);
  });

  it("wrote nothing under DATA_DIR/blobs", () => {
    expect(existsSync(join(stack.config.dataDir, "blobs"))).toBe(false);
  });

  it("answers 503 SERVICE_BUSY, not 404, while the store cannot be reached", async () => {
    const secret = await getInstanceSecret(stack.db);
    const link = signBlobUrl({ publicUrl: stack.origin, key: "screenshots/any/0.png", secret });
    expect((await call(link)).status).toBe(404);
    await s3.close();
    s3Stopped = true;
    const down = await call<{ status: string; code?: string; retry_after?: number }>(link);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: "error", code: "SERVICE_BUSY", retry_after: 5 });
    expect(down.headers.get("retry-after")).toBe("5");
    // The gateway itself is fine.
    expect((await call(`${stack.origin}/health`)).status).toBe(200);
  });
});
