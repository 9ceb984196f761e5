import { createHash, randomBytes } from "node:crypto";
import { buffer, text } from "node:stream/consumers";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import type { BlobStore } from "../../src/index.ts";

/** Makes a fresh store; two stores of different `space`s must not see each other's blobs. */
export type MakeStore = (space: string) => Promise<BlobStore>;

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/**
 * What every BlobStore does, whatever keeps the bytes: run by the local and the S3 store tests so the
 * gateway and the worker cannot tell them apart.
 */
export function describeBlobStoreBehaviour(name: string, makeStore: MakeStore): void {
  describe(`${name}: blob store behaviour`, () => {
    it("writes, reads with a content type, and deletes", async () => {
      const store = await makeStore("basic");
      await store.put("crawl/abc/1.md", "# hello", "text/markdown; charset=utf-8");
      const got = await store.get("crawl/abc/1.md");
      expect(got?.contentType).toContain("text/markdown");
      expect(got?.size).toBe(7);
      expect(await text(got!.body)).toBe("# hello");
      await store.delete("crawl/abc/1.md");
      expect(await store.get("crawl/abc/1.md")).toBeNull();
    });

    it("answers null for a blob that was never written, and deleting it is not an error", async () => {
      const store = await makeStore("missing");
      expect(await store.get("screenshots/none/0.png")).toBeNull();
      await expect(store.delete("screenshots/none/0.png")).resolves.toBeUndefined();
    });

    it("keeps binary bytes exactly and serves PNG, HTML and JSON with their types", async () => {
      const store = await makeStore("types");
      const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(1000)]);
      await store.put("screenshots/j/0.png", png, "image/png");
      await store.put("crawl/j/p.html", "<!doctype html><title>Ünïcode ✓</title>", "text/html; charset=utf-8");
      await store.put("crawl/j/p.json", Buffer.from('{"a":1}'), "application/json");
      const shot = await store.get("screenshots/j/0.png");
      expect(shot).toMatchObject({ size: png.length, contentType: "image/png" });
      expect((await buffer(shot!.body)).equals(png)).toBe(true);
      const html = await store.get("crawl/j/p.html");
      expect(html?.contentType).toContain("text/html");
      expect(html?.size).toBe(Buffer.byteLength("<!doctype html><title>Ünïcode ✓</title>"));
      expect(await text(html!.body)).toBe("<!doctype html><title>Ünïcode ✓</title>");
      const json = await store.get("crawl/j/p.json");
      expect(json?.contentType).toBe("application/json");
      expect(JSON.parse(await text(json!.body))).toEqual({ a: 1 });
    });

    it("replaces a blob written twice under one key", async () => {
      const store = await makeStore("overwrite");
      await store.put("crawl/j/p.md", "first version", "text/markdown");
      await store.put("crawl/j/p.md", "second", "text/markdown");
      const got = await store.get("crawl/j/p.md");
      expect(got?.size).toBe(6);
      expect(await text(got!.body)).toBe("second");
    });

    it("round-trips a 6 MB body as a stream of several chunks", async () => {
      const store = await makeStore("large");
      const big = randomBytes(6 * 1024 * 1024);
      await store.put("screenshots/big/0.png", big, "image/png");
      const got = await store.get("screenshots/big/0.png");
      expect(got?.size).toBe(big.length);
      let chunks = 0;
      const parts: Buffer[] = [];
      for await (const chunk of got!.body) {
        chunks++;
        parts.push(Buffer.from(chunk as Buffer));
      }
      const back = Buffer.concat(parts);
      expect(chunks).toBeGreaterThan(1);
      expect(back.length).toBe(big.length);
      expect(sha256(back)).toBe(sha256(big));
    });

    it("holds 80 unread bodies at once, then reads them all (the crawl ZIP does this)", async () => {
      const store = await makeStore("many");
      const keys = Array.from({ length: 80 }, (_, i) => `crawl/many/${i}.md`);
      for (const [i, key] of keys.entries()) await store.put(key, `page ${i}`, "text/markdown");
      const blobs = [];
      for (const key of keys) blobs.push(await store.get(key));
      const texts = [];
      for (const blob of blobs) texts.push(await text(blob!.body));
      expect(texts).toEqual(keys.map((_, i) => `page ${i}`));
      // Bodies dropped unread do not wedge the store either.
      for (const key of keys) (await store.get(key))!.body.destroy();
      expect(await text((await store.get(keys[0]!))!.body)).toBe("page 0");
    });

    it("keeps stores of different roots or prefixes apart", async () => {
      const a = await makeStore("space-a");
      const b = await makeStore("space-b");
      await a.put("crawl/shared/1.md", "from a", "text/markdown");
      expect(await b.get("crawl/shared/1.md")).toBeNull();
      await b.put("crawl/shared/1.md", "from b", "text/markdown");
      expect(await text((await a.get("crawl/shared/1.md"))!.body)).toBe("from a");
      await b.delete("crawl/shared/1.md");
      expect(await text((await a.get("crawl/shared/1.md"))!.body)).toBe("from a");
    });

    it("deletes the blobs last written before a cutoff, its own only, and keeps newer ones", async () => {
      const store = await makeStore("sweep");
      const other = await makeStore("sweep-other");
      await store.put("screenshots/old/0.png", "old shot", "image/png");
      await store.put("crawl/old/p.md", "old page", "text/markdown");
      await other.put("screenshots/old/0.png", "another store's", "image/png");
      // Object stores keep modification times to the second.
      await sleep(1100);
      const cutoff = new Date();
      await sleep(1100);
      await store.put("screenshots/new/0.png", "new shot", "image/png");
      expect(await store.deleteOlderThan(cutoff)).toBe(2);
      expect(await store.get("screenshots/old/0.png")).toBeNull();
      expect(await store.get("crawl/old/p.md")).toBeNull();
      expect(await text((await store.get("screenshots/new/0.png"))!.body)).toBe("new shot");
      expect(await text((await other.get("screenshots/old/0.png"))!.body)).toBe("another store's");
      expect(await store.deleteOlderThan(cutoff)).toBe(0);
      // Written again under a swept key and folder: an ordinary blob.
      await store.put("screenshots/old/0.png", "again", "image/png");
      expect(await text((await store.get("screenshots/old/0.png"))!.body)).toBe("again");
    });

    it("refuses keys that would escape its root", async () => {
      const store = await makeStore("unsafe");
      for (const key of ["../etc/passwd", "a/../../b", "/abs", "a//b", "", "a/./../b", "sp ace"]) {
        await expect(store.get(key)).rejects.toThrow(/invalid blob key/);
        await expect(store.put(key, "x", "text/plain")).rejects.toThrow(/invalid blob key/);
        await expect(store.delete(key)).rejects.toThrow(/invalid blob key/);
      }
    });
  });
}
