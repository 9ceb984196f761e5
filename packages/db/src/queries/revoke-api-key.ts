import { and, eq, isNull, or } from "drizzle-orm";
import { hashApiKey } from "../api-key.ts";
import type { Db } from "../client.ts";
import { apiKeys } from "../schema/index.ts";

/** Revokes a key given either the key itself or its id; returns how many keys were revoked. */
export async function revokeApiKey(db: Db, opts: { key?: string; keyId?: string }): Promise<number> {
  const conditions = [];
  if (opts.key) conditions.push(eq(apiKeys.keyHash, hashApiKey(opts.key)));
  if (opts.keyId) conditions.push(eq(apiKeys.id, opts.keyId));
  if (conditions.length === 0) return 0;
  const rows = await db
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(or(...conditions), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return rows.length;
}
