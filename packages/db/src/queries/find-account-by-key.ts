import { and, eq, isNull } from "drizzle-orm";
import { hashApiKey } from "../api-key.ts";
import type { Db } from "../client.ts";
import { apiKeys } from "../schema/index.ts";

/** The account owning an active (not revoked) key, or null. */
export async function findAccountByKey(db: Db, key: string): Promise<{ accountId: string; keyId: string } | null> {
  const [row] = await db
    .select({ accountId: apiKeys.accountId, keyId: apiKeys.id })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, hashApiKey(key)), isNull(apiKeys.revokedAt)))
    .limit(1);
  return row ?? null;
}

/** True when any key (revoked or not) has this value; used so the bootstrap key is created once. */
export async function keyExists(db: Db, key: string): Promise<boolean> {
  const [row] = await db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(eq(apiKeys.keyHash, hashApiKey(key)))
    .limit(1);
  return row !== undefined;
}
