import { createHash, randomBytes } from "node:crypto";

/** A new random API key in the Spidra style (`spd_…`); the prefix is cosmetic, never enforced. */
export function generateApiKey(): string {
  return `spd_${randomBytes(24).toString("base64url")}`;
}

/** Keys are high-entropy random strings, so one SHA-256 is enough (no slow KDF needed). */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}
