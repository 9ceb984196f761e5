import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  blobKeyOf,
  blobRef,
  createBlobStore,
  createLocalBlobStore,
  signBlobUrl,
  verifyBlobSignature,
} from "../src/index.ts";
import { describeBlobStoreBehaviour } from "./helpers/blob-store-behaviour.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describeBlobStoreBehaviour("local", async (space) => {
  const dir = await mkdtemp(join(tmpdir(), `blobs-${space}-`));
  dirs.push(dir);
  return createLocalBlobStore(dir);
});

describe("local blob store", () => {
  it("keeps blobs as plain files under its root", async () => {
    const dir = await mkdtemp(join(tmpdir(), "blobs-"));
    dirs.push(dir);
    const store = createLocalBlobStore(dir);
    await store.put("screenshots/j/0.png", Buffer.from("png bytes"), "image/png");
    expect(await readFile(join(dir, "screenshots/j/0.png"), "utf8")).toBe("png bytes");
  });

  it("sweeps left-over temp files with old blobs, and removes folders only once they have stood empty", async () => {
    const dir = await mkdtemp(join(tmpdir(), "blobs-sweep-"));
    dirs.push(dir);
    const store = createLocalBlobStore(dir);
    const longAgo = new Date(Date.now() - 2 * 3600_000);
    await store.put("screenshots/a/0.png", "a", "image/png");
    await store.put("screenshots/b/0.png", "b", "image/png");
    await writeFile(join(dir, "screenshots/a/1.png.123.456.tmp"), "half written");
    for (const f of ["screenshots/a/0.png", "screenshots/a/1.png.123.456.tmp"])
      await utimes(join(dir, f), longAgo, longAgo);
    const cutoff = new Date(Date.now() - 3600_000);
    expect(await store.deleteOlderThan(cutoff)).toBe(2);
    expect(await readdir(join(dir, "screenshots/a"))).toEqual([]);
    // Emptied just now: the folder stays (a write may be about to use it) until it has stood a while.
    expect(await store.deleteOlderThan(cutoff)).toBe(0);
    expect(existsSync(join(dir, "screenshots/a"))).toBe(true);
    await utimes(join(dir, "screenshots/a"), longAgo, longAgo);
    expect(await store.deleteOlderThan(cutoff)).toBe(0);
    expect(existsSync(join(dir, "screenshots/a"))).toBe(false);
    expect(await readFile(join(dir, "screenshots/b/0.png"), "utf8")).toBe("b");
    expect(existsSync(dir)).toBe(true);
  });

  it("is what createBlobStore builds by default, under DATA_DIR/blobs", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "data-"));
    dirs.push(dataDir);
    const store = await createBlobStore({ dataDir, storage: { driver: "local" } });
    await store.put("crawl/c/p.md", "# page", "text/markdown");
    expect(await readFile(join(dataDir, "blobs", "crawl/c/p.md"), "utf8")).toBe("# page");
    await store.close();
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
