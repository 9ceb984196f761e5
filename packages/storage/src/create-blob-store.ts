import { join } from "node:path";
import type { BlobStore } from "./blob-store.ts";
import { createLocalBlobStore } from "./local-blob-store.ts";
import type { S3BlobStoreOptions } from "./s3-blob-store.ts";

/** Which store keeps blobs; the `storage` part of the parsed settings (STORAGE_DRIVER, S3_*). */
export type BlobStoreSettings = { driver: "local" } | ({ driver: "s3" } & S3BlobStoreOptions);

/**
 * The blob store the settings name: files under `dataDir/blobs` (default) or an S3-compatible
 * bucket. The gateway and the worker build theirs here so both always read and write the same place.
 * The AWS SDK is loaded only for `s3` (it costs ~250 ms and ~20 MB per process that never uses it).
 */
export async function createBlobStore(config: { dataDir: string; storage: BlobStoreSettings }): Promise<BlobStore> {
  const { storage } = config;
  if (storage.driver === "s3") {
    const { createS3BlobStore } = await import("./s3-blob-store.ts");
    return createS3BlobStore(storage);
  }
  return createLocalBlobStore(join(config.dataDir, "blobs"));
}
