import { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { assertSafeKey, BlobStoreUnavailableError, contentTypeOfKey, type BlobStore } from "./blob-store.ts";

/** Where an S3-compatible store lives (AWS S3, MinIO, R2, ...). */
export interface S3BlobStoreOptions {
  bucket: string;
  /** Default `us-east-1`. */
  region?: string;
  /** For stores other than AWS S3, e.g. `http://minio:9000`; unset for AWS. */
  endpoint?: string | undefined;
  /** Both or neither; unset falls back to the SDK's default credential chain (env, profile, IAM role). */
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  /** `bucket` in the path instead of the host name; MinIO and most self-hosted stores need it. Default false. */
  forcePathStyle?: boolean;
  /** Key prefix (a "folder") for every blob, without leading or trailing slash; default none. */
  prefix?: string | undefined;
}

/** Object deletes a retention sweep sends side by side. */
const DELETES_AT_ONCE = 8;

/** A missing object: HeadObject answers a bare 404 (`NotFound`), GetObject `NoSuchKey`. */
function isNotFound(err: unknown): boolean {
  return (
    err instanceof S3ServiceException &&
    (err.name === "NotFound" || err.name === "NoSuchKey" || err.$metadata.httpStatusCode === 404)
  );
}

/**
 * A stream that sends GetObject when it is first read, so a caller holding many unread bodies (the
 * crawl ZIP opens every page before archiving) does not hold one pooled socket each and stall the
 * pool. Destroying it before reading sends nothing; destroying it while reading releases the socket.
 */
function openOnRead(open: () => Promise<Readable>): Readable {
  async function* chunks() {
    const body = await open();
    try {
      for await (const chunk of body) yield chunk as Buffer;
    } finally {
      body.destroy();
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

/**
 * Blobs as objects in an S3-compatible bucket. `get` asks HeadObject for size and type (a missing
 * object is null, like the local store) and streams the body with GetObject pinned to the same
 * ETag, so a blob replaced in between fails the stream rather than sending a mismatched length.
 */
export function createS3BlobStore(opts: S3BlobStoreOptions): BlobStore {
  const prefix = (opts.prefix ?? "").replace(/^\/+|\/+$/g, "");
  if (prefix) assertSafeKey(prefix);
  const client = new S3Client({
    region: opts.region ?? "us-east-1",
    endpoint: opts.endpoint,
    forcePathStyle: opts.forcePathStyle ?? false,
    credentials:
      opts.accessKeyId && opts.secretAccessKey
        ? { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey }
        : undefined,
    // The SDK's default CRC32 checksum headers are refused by several S3-compatible stores (older
    // MinIO, R2, GCS interop); send and check them only where the operation requires them.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // An unreachable endpoint fails in seconds rather than hanging a job or a download.
    requestHandler: { connectionTimeout: 5_000 },
  });
  const Bucket = opts.bucket;
  const objectKey = (key: string) => {
    assertSafeKey(key);
    return prefix ? `${prefix}/${key}` : key;
  };
  return {
    async put(key, data, contentType) {
      await client.send(new PutObjectCommand({ Bucket, Key: objectKey(key), Body: data, ContentType: contentType }));
    },
    async get(key) {
      const Key = objectKey(key);
      const head = await client.send(new HeadObjectCommand({ Bucket, Key })).catch((err: unknown) => {
        if (isNotFound(err)) return null;
        throw new BlobStoreUnavailableError(err);
      });
      if (!head) return null;
      const body = openOnRead(async () => {
        const res = await client.send(new GetObjectCommand({ Bucket, Key, IfMatch: head.ETag }));
        return res.Body as Readable;
      });
      return {
        body,
        size: head.ContentLength ?? 0,
        contentType: head.ContentType || contentTypeOfKey(key),
      };
    },
    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: objectKey(key) }));
    },
    async deleteOlderThan(cutoff) {
      // One DeleteObject per key, a few at a time: DeleteObjects needs a checksum header that several
      // S3-compatible stores refuse. A lifecycle rule on the bucket does the same job without a sweep.
      let deleted = 0;
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket, Prefix: prefix ? `${prefix}/` : undefined, ContinuationToken: token }),
        );
        const old = (page.Contents ?? []).flatMap((o) =>
          o.Key && o.LastModified && o.LastModified.getTime() < cutoff.getTime() ? [o.Key] : [],
        );
        for (let i = 0; i < old.length; i += DELETES_AT_ONCE) {
          await Promise.all(
            old.slice(i, i + DELETES_AT_ONCE).map((Key) => client.send(new DeleteObjectCommand({ Bucket, Key }))),
          );
        }
        deleted += old.length;
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return deleted;
    },
    async close() {
      client.destroy();
    },
  };
}
