export type { BlobStore } from "./blob-store.ts";
export { assertSafeKey } from "./blob-store.ts";
export { createLocalBlobStore } from "./local-blob-store.ts";
export {
  signBlobUrl,
  verifyBlobSignature,
  SIGNED_URL_TTL_SECONDS,
  BLOB_REF_PREFIX,
  blobRef,
  blobKeyOf,
} from "./signed-url.ts";
