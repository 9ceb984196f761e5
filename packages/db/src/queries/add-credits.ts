import { eq, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { accounts, creditLedger } from "../schema/index.ts";

/** Adds (or with a negative amount, removes) credits; returns the new balance, or null for an unknown account. */
export async function addCredits(
  db: Db,
  opts: { accountId: string; credits: number; note?: string },
): Promise<number | null> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(accounts)
      .set({ creditsBalance: sql`${accounts.creditsBalance} + ${opts.credits}` })
      .where(eq(accounts.id, opts.accountId))
      .returning({ balance: accounts.creditsBalance });
    if (!row) return null;
    await tx
      .insert(creditLedger)
      .values({ accountId: opts.accountId, delta: opts.credits, reason: "grant", note: opts.note ?? null });
    return row.balance;
  });
}

/** Current balance, or null for an unknown account. */
export async function getBalance(db: Db, accountId: string): Promise<number | null> {
  const [row] = await db.select({ balance: accounts.creditsBalance }).from(accounts).where(eq(accounts.id, accountId));
  return row?.balance ?? null;
}
