import { createHmac, timingSafeEqual } from "node:crypto";

/** Default lifetime of a signed link (the contract: 1 hour). */
export const SIGNED_URL_TTL_SECONDS = 3600;

const signature = (secret: string, key: string, expires: number) =>
  createHmac("sha256", secret).update(`${key}\n${expires}`).digest("base64url");

/** A link to a blob served by the gateway at `${publicUrl}/files/<key>`, valid until `expires`. */
export function signBlobUrl(opts: {
  publicUrl: string;
  key: string;
  secret: string;
  ttlSeconds?: number;
  now?: number;
}): string {
  const expires = Math.floor((opts.now ?? Date.now()) / 1000) + (opts.ttlSeconds ?? SIGNED_URL_TTL_SECONDS);
  const path = opts.key.split("/").map(encodeURIComponent).join("/");
  return `${opts.publicUrl}/files/${path}?expires=${expires}&signature=${signature(opts.secret, opts.key, expires)}`;
}

/** "ok", or why a link is refused (expired or tampered links are both 403 to the client). */
export function verifyBlobSignature(opts: {
  key: string;
  expires: string | undefined;
  signature: string | undefined;
  secret: string;
  now?: number;
}): "ok" | "expired" | "invalid" {
  const expires = Number(opts.expires);
  if (!opts.signature || !Number.isInteger(expires)) return "invalid";
  const expected = Buffer.from(signature(opts.secret, opts.key, expires));
  const given = Buffer.from(opts.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return "invalid";
  if (expires < Math.floor((opts.now ?? Date.now()) / 1000)) return "expired";
  return "ok";
}

/** Stored results refer to blobs as `blob:<key>`; links are signed when a result is read. */
export const BLOB_REF_PREFIX = "blob:";
export const blobRef = (key: string) => `${BLOB_REF_PREFIX}${key}`;
export function blobKeyOf(ref: string | null | undefined): string | undefined {
  return ref?.startsWith(BLOB_REF_PREFIX) ? ref.slice(BLOB_REF_PREFIX.length) : undefined;
}
