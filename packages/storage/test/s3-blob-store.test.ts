import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer as createHttpServer, request } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { text } from "node:stream/consumers";
import { GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBlobStore, type BlobStore } from "../src/index.ts";
import { createS3BlobStore } from "../src/s3-blob-store.ts";
import { startS3TestServer, type S3TestServer } from "../src/testing/s3-test-server.ts";
import { describeBlobStoreBehaviour } from "./helpers/blob-store-behaviour.ts";

let s3: S3TestServer;
const stores: BlobStore[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  s3 = await startS3TestServer({ bucket: "blobs" });
});
afterAll(async () => {
  for (const store of stores) await store.close();
  await s3?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** An HTTP pass-through to the S3 server that counts requests by method (the Host header is kept, so signatures hold). */
async function startCountingProxy(target: string) {
  const seen: string[] = [];
  const upstream = new URL(target);
  const server = createHttpServer((req, res) => {
    seen.push(req.method ?? "");
    const up = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    count: (method: string) => seen.filter((m) => m === method).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A store on the test server, as the settings would build it. */
function s3Store(prefix?: string): BlobStore {
  const store = createS3BlobStore({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    forcePathStyle: true,
    prefix,
  });
  stores.push(store);
  return store;
}

// Each behaviour test gets its own key prefix, so they share one bucket without seeing each other.
describeBlobStoreBehaviour("s3", async (space) => s3Store(`behaviour/${space}`));

describe("s3 blob store", () => {
  it("writes objects under the prefix with the content type given, and reads them back", async () => {
    const store = s3Store("/tenant-a/");
    await store.put("screenshots/j1/0.png", Buffer.from([0x89, 0x50, 0x4e, 0x47]), "image/png");
    expect(await s3.listKeys("tenant-a/")).toEqual(["tenant-a/screenshots/j1/0.png"]);
    const head = await s3.client.send(
      new HeadObjectCommand({ Bucket: s3.bucket, Key: "tenant-a/screenshots/j1/0.png" }),
    );
    expect(head.ContentType).toBe("image/png");
    expect(head.ContentLength).toBe(4);
    // An object put by someone else under the prefix is a blob like any other.
    const plain = s3Store();
    await plain.put("tenant-a/crawl/c/p.md", "# outside", "text/markdown; charset=utf-8");
    expect(await text((await store.get("crawl/c/p.md"))!.body)).toBe("# outside");
    await store.delete("screenshots/j1/0.png");
    expect(await s3.listKeys("tenant-a/screenshots/")).toEqual([]);
  });

  it("stores keys as given without a prefix", async () => {
    const store = s3Store();
    await store.put("crawl/noprefix/p.html", "<p>x</p>", "text/html; charset=utf-8");
    const res = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: "crawl/noprefix/p.html" }));
    expect(await res.Body!.transformToString()).toBe("<p>x</p>");
  });

  it("sends GetObject only when a body is read, and none for a body dropped unread", async () => {
    const proxy = await startCountingProxy(s3.endpoint);
    try {
      const store = createS3BlobStore({
        bucket: s3.bucket,
        endpoint: proxy.endpoint,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        forcePathStyle: true,
        prefix: "lazy",
      });
      stores.push(store);
      await store.put("crawl/l/p.md", "lazy page", "text/markdown");
      const blob = await store.get("crawl/l/p.md");
      expect(proxy.count("HEAD")).toBe(1);
      expect(proxy.count("GET")).toBe(0);
      expect(await text(blob!.body)).toBe("lazy page");
      expect(proxy.count("GET")).toBe(1);
      (await store.get("crawl/l/p.md"))!.body.destroy();
      expect(await store.get("crawl/l/none.md")).toBeNull();
      expect(proxy.count("HEAD")).toBe(3);
      expect(proxy.count("GET")).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it("fails the body stream when the object is deleted between get and read", async () => {
    const store = s3Store("vanish");
    await store.put("crawl/v/p.md", "v1", "text/markdown");
    const blob = await store.get("crawl/v/p.md");
    await store.delete("crawl/v/p.md");
    await expect(text(blob!.body)).rejects.toThrow();
  });

  it("rejects (never answers null) when the bucket does not exist or the server is down", async () => {
    const wrongBucket = createS3BlobStore({
      bucket: "no-such-bucket",
      endpoint: s3.endpoint,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      forcePathStyle: true,
    });
    stores.push(wrongBucket);
    await expect(wrongBucket.put("crawl/x/p.md", "x", "text/markdown")).rejects.toThrow(/bucket/i);

    const closedPort = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const { port } = srv.address() as AddressInfo;
        srv.close(() => resolve(port));
      });
    });
    const down = createS3BlobStore({
      bucket: s3.bucket,
      endpoint: `http://127.0.0.1:${closedPort}`,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      forcePathStyle: true,
    });
    stores.push(down);
    await expect(down.get("crawl/x/p.md")).rejects.toThrow();
    await expect(down.put("crawl/x/p.md", "x", "text/markdown")).rejects.toThrow();
  });

  it("is what createBlobStore builds for driver s3, writing nothing under DATA_DIR", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "data-"));
    dirs.push(dataDir);
    const store = await createBlobStore({
      dataDir,
      storage: {
        driver: "s3",
        bucket: s3.bucket,
        region: "us-east-1",
        endpoint: s3.endpoint,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        forcePathStyle: true,
        prefix: "factory",
      },
    });
    stores.push(store);
    await store.put("screenshots/f/0.png", Buffer.from("png"), "image/png");
    expect(await s3.listKeys("factory/")).toEqual(["factory/screenshots/f/0.png"]);
    expect(existsSync(join(dataDir, "blobs"))).toBe(false);
  });
});
