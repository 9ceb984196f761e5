import { eq } from "drizzle-orm";
import type { Db } from "../client.ts";
import { accounts } from "../schema/index.ts";

/** Per-account overrides of the global limits; null means "the setting applies". */
export interface AccountLimits {
  rateLimitMax: number | null;
  maxPendingScrapeJobs: number | null;
  maxPendingBatches: number | null;
  maxPendingCrawls: number | null;
}

const columns = {
  rateLimitMax: accounts.rateLimitMax,
  maxPendingScrapeJobs: accounts.maxPendingScrapeJobs,
  maxPendingBatches: accounts.maxPendingBatches,
  maxPendingCrawls: accounts.maxPendingCrawls,
};

const NONE: AccountLimits = {
  rateLimitMax: null,
  maxPendingScrapeJobs: null,
  maxPendingBatches: null,
  maxPendingCrawls: null,
};

export async function getAccountLimits(db: Db, accountId: string): Promise<AccountLimits> {
  const [row] = await db.select(columns).from(accounts).where(eq(accounts.id, accountId));
  return row ?? NONE;
}

/** Sets (a number) or clears (null) overrides; fields left undefined are unchanged. Null for an unknown account. */
export async function setAccountLimits(
  db: Db,
  opts: { accountId: string; limits: Partial<AccountLimits> },
): Promise<AccountLimits | null> {
  const changes = Object.fromEntries(Object.entries(opts.limits).filter(([, v]) => v !== undefined));
  if (Object.keys(changes).length === 0) {
    const [row] = await db.select(columns).from(accounts).where(eq(accounts.id, opts.accountId));
    return row ?? null;
  }
  const [row] = await db.update(accounts).set(changes).where(eq(accounts.id, opts.accountId)).returning(columns);
  return row ?? null;
}
