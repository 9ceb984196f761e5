import { getInstanceSecret } from "@orbweaver/db";
import { signBlobUrl } from "@orbweaver/storage";
import { startFixtureSite, type FixtureSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollBatch } from "./helpers/batch.ts";
import { call, pollScrape } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let stack: TestStack;
let key: string;

beforeAll(async () => {
  site = await startFixtureSite();
  stack = await startTestStack();
  key = (await stack.createKey(100)).key;
});
afterAll(async () => {
  await stack?.stop();
  await site?.close();
});

async function scrape(body: Record<string, unknown>) {
  const submit = await call<{ jobId: string }>(`${stack.api}/scrape`, { key, body });
  expect(submit.status).toBe(202);
  const { final } = await pollScrape(stack.api, key, submit.body.jobId);
  expect(final.status).toBe("completed");
  return final.result!;
}

/** Width and height from a PNG's IHDR chunk. */
async function pngSize(url: string): Promise<{ width: number; height: number; type: string | null }> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  expect(bytes.subarray(1, 4).toString()).toBe("PNG");
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20), type: res.headers.get("content-type") };
}

describe("screenshots", () => {
  it("stores a viewport PNG behind a signed link in screenshots[] and data[].screenshotUrl", async () => {
    const result = await scrape({ urls: [{ url: site.url("/news") }], screenshot: true });
    expect(result.screenshots).toHaveLength(1);
    expect(result.data[0]!.screenshotUrl).toBe(result.screenshots[0]);
    const link = new URL(result.screenshots[0]!);
    expect(link.pathname).toMatch(/^\/files\/screenshots\//);
    expect(link.searchParams.get("signature")).toBeTruthy();
    const png = await pngSize(`${stack.origin}${link.pathname}${link.search}`);
    expect(png).toEqual({ width: 1280, height: 800, type: "image/png" });
  });

  it("takes the whole scrollable page with fullPageScreenshot alone (it implies screenshot)", async () => {
    const result = await scrape({ urls: [{ url: site.url("/news") }], fullPageScreenshot: true });
    const link = new URL(result.screenshots[0]!);
    const png = await pngSize(`${stack.origin}${link.pathname}${link.search}`);
    expect(png.height).toBeGreaterThan(800);
  });

  it("refuses tampered and expired links with 403 and unknown files with 404", async () => {
    const result = await scrape({ urls: [{ url: site.url("/") }], screenshot: true });
    const link = new URL(result.screenshots[0]!);
    const tampered = `${stack.origin}${link.pathname}?expires=${link.searchParams.get("expires")}&signature=AAAA${link.searchParams.get("signature")!.slice(4)}`;
    const bad = await call<{ status: string; message: string; error: string }>(tampered);
    expect(bad.status).toBe(403);
    expect(bad.body.error).toBe(bad.body.message);
    const secret = await getInstanceSecret(stack.db);
    const path = decodeURIComponent(link.pathname.replace(/^\/files\//, ""));
    const expired = new URL(
      signBlobUrl({ publicUrl: stack.origin, key: path, secret, now: Date.now() - 2 * 3600_000 }),
    );
    expect((await call(expired.toString())).status).toBe(403);
    const missing = new URL(signBlobUrl({ publicUrl: stack.origin, key: "screenshots/none/0.png", secret }));
    expect((await call(missing.toString())).status).toBe(404);
    expect((await call(`${stack.origin}/files/screenshots/x.png`)).status).toBe(403);
  });

  it("gives batch items their screenshot link", async () => {
    const submit = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: [site.url("/product/1")], screenshot: true },
    });
    const done = await pollBatch(stack.api, key, submit.body.batchId);
    const link = new URL(done.items[0]!.screenshotUrl!);
    expect((await pngSize(`${stack.origin}${link.pathname}${link.search}`)).width).toBe(1280);
  });
});
