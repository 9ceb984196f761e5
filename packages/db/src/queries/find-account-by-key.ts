import { and, eq, isNull } from "drizzle-orm";
import { hashApiKey } from "../api-key.ts";
import type { Db } from "../client.ts";
import { accounts, apiKeys } from "../schema/index.ts";
import type { AccountLimits } from "./account-limits.ts";

/** An active key's account and that account's limit overrides. */
export interface KeyAccount {
  accountId: string;
  keyId: string;
  limits: AccountLimits;
}

/** The account owning an active (not revoked) key, with its limits, in one query; null for an unknown or revoked key. */
export async function findAccountByKey(db: Db, key: string): Promise<KeyAccount | null> {
  const [row] = await db
    .select({
      accountId: apiKeys.accountId,
      keyId: apiKeys.id,
      rateLimitMax: accounts.rateLimitMax,
      maxPendingScrapeJobs: accounts.maxPendingScrapeJobs,
      maxPendingBatches: accounts.maxPendingBatches,
      maxPendingCrawls: accounts.maxPendingCrawls,
    })
    .from(apiKeys)
    .innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
    .where(and(eq(apiKeys.keyHash, hashApiKey(key)), isNull(apiKeys.revokedAt)))
    .limit(1);
  if (!row) return null;
  const { accountId, keyId, ...limits } = row;
  return { accountId, keyId, limits };
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
