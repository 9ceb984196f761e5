import { blobKeyOf, signBlobUrl } from "@orbweaver/storage";

/** Signs stored `blob:<key>` references at read time, so every response carries a fresh 1-hour link. */
export function blobSigner(opts: { publicUrl: string; secret: string }) {
  return (ref: string | null | undefined): string | null => {
    if (ref === null || ref === undefined) return null;
    const key = blobKeyOf(ref);
    return key ? signBlobUrl({ publicUrl: opts.publicUrl, key, secret: opts.secret }) : ref;
  };
}
