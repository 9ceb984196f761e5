import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { text } from "node:stream/consumers";
import { afterAll, describe, expect, it } from "vitest";
import { blobKeyOf, blobRef, createLocalBlobStore, signBlobUrl, verifyBlobSignature } from "../src/index.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("local blob store", () => {
  it("writes, reads with a content type, and deletes", async () => {
    const dir = await mkdtemp(join(tmpdir(), "blobs-"));
    dirs.push(dir);
    const store = createLocalBlobStore(dir);
    await store.put("crawl/abc/1.md", "# hello", "text/markdown");
    const got = await store.get("crawl/abc/1.md");
    expect(got?.contentType).toContain("text/markdown");
    expect(got?.size).toBe(7);
    expect(await text(got!.body)).toBe("# hello");
    await store.delete("crawl/abc/1.md");
    expect(await store.get("crawl/abc/1.md")).toBeNull();
  });

  it("refuses keys that would escape its root", async () => {
    const store = createLocalBlobStore("/tmp/none");
    for (const key of ["../etc/passwd", "a/../../b", "/abs", "a//b", ""]) {
      await expect(store.get(key)).rejects.toThrow(/invalid blob key/);
    }
  });
});

describe("signed links", () => {
  const secret = "s3cret";
  it("verifies a fresh link and refuses tampered or expired ones", () => {
    const now = 1_700_000_000_000;
    const url = new URL(signBlobUrl({ publicUrl: "http://h", key: "screenshots/j/0.png", secret, now }));
    expect(url.pathname).toBe("/files/screenshots/j/0.png");
    const expires = url.searchParams.get("expires") ?? undefined;
    const signature = url.searchParams.get("signature") ?? undefined;
    expect(Number(expires) - now / 1000).toBe(3600);
    expect(verifyBlobSignature({ key: "screenshots/j/0.png", expires, signature, secret, now })).toBe("ok");
    expect(verifyBlobSignature({ key: "screenshots/j/1.png", expires, signature, secret, now })).toBe("invalid");
    expect(
      verifyBlobSignature({
        key: "screenshots/j/0.png",
        expires: String(Number(expires) + 10),
        signature,
        secret,
        now,
      }),
    ).toBe("invalid");
    expect(verifyBlobSignature({ key: "screenshots/j/0.png", expires, signature, secret: "other", now })).toBe(
      "invalid",
    );
    expect(verifyBlobSignature({ key: "screenshots/j/0.png", expires, signature, secret, now: now + 3601_000 })).toBe(
      "expired",
    );
  });

  it("marks stored references", () => {
    expect(blobKeyOf(blobRef("a/b.png"))).toBe("a/b.png");
    expect(blobKeyOf("https://elsewhere/x.png")).toBeUndefined();
  });
});
