export type { BlobStore } from "./blob-store.ts";
export { assertSafeKey, BlobStoreUnavailableError, contentTypeOfKey } from "./blob-store.ts";
export { createLocalBlobStore } from "./local-blob-store.ts";
// createS3BlobStore is reached through createBlobStore, which loads the AWS SDK only when it is used.
export type { S3BlobStoreOptions } from "./s3-blob-store.ts";
export { createBlobStore, type BlobStoreSettings } from "./create-blob-store.ts";
export {
  signBlobUrl,
  verifyBlobSignature,
  SIGNED_URL_TTL_SECONDS,
  BLOB_REF_PREFIX,
  blobRef,
  blobKeyOf,
} from "./signed-url.ts";
