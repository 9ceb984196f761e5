import { eq, sql } from "drizzle-orm";
import type { Tx } from "../client.ts";
import { accounts, creditLedger, jobs } from "../schema/index.ts";

/**
 * Moves credits with their ledger entry, once per job and reason ((job_id, reason) is unique; an
 * entry without a job is never refused). Returns whether it moved them.
 */
export async function moveCredits(
  tx: Tx,
  opts: { accountId: string; jobId: string | null; delta: number; reason: "refund" | "charge"; note?: string },
): Promise<boolean> {
  const inserted = await tx
    .insert(creditLedger)
    .values({ accountId: opts.accountId, delta: opts.delta, reason: opts.reason, jobId: opts.jobId, note: opts.note })
    .onConflictDoNothing()
    .returning({ id: creditLedger.id });
  if (inserted.length === 0) return false;
  await tx
    .update(accounts)
    .set({ creditsBalance: sql`${accounts.creditsBalance} + ${opts.delta}` })
    .where(eq(accounts.id, opts.accountId));
  return true;
}

/**
 * Charges `amount`, or what is left of the balance if less, never taking it below zero (the account
 * row is locked first); see {@link moveCredits}. Returns what was charged.
 */
export async function chargeUpTo(
  tx: Tx,
  opts: { accountId: string; jobId: string | null; amount: number; note: string },
): Promise<number> {
  const [account] = await tx
    .select({ balance: accounts.creditsBalance })
    .from(accounts)
    .where(eq(accounts.id, opts.accountId))
    .for("update");
  const amount = Math.min(opts.amount, account?.balance ?? 0);
  if (amount <= 0) return 0;
  const { accountId, jobId, note } = opts;
  return (await moveCredits(tx, { accountId, jobId, delta: -amount, reason: "charge", note })) ? amount : 0;
}

/** Adds what was charged beyond a job's reservation to its `credits_used`. */
export async function addCreditsUsed(tx: Tx, jobId: string, amount: number): Promise<void> {
  await tx
    .update(jobs)
    .set({ creditsUsed: sql`${jobs.creditsUsed} + ${amount}` })
    .where(eq(jobs.id, jobId));
}
