import { eq, sql } from "drizzle-orm";
import type { Tx } from "../client.ts";
import { accounts, creditLedger } from "../schema/index.ts";

/**
 * Refunds the whole reservation of jobs that ended without running (cancelled or failed as a
 * batch), inside the caller's transaction. The (job, reason) unique index makes it idempotent.
 * Returns the credits refunded.
 */
export async function refundReservations(
  tx: Tx,
  opts: { accountId: string; jobs: Array<{ id: string; reserved: number }> },
): Promise<number> {
  let refunded = 0;
  for (const job of opts.jobs) {
    if (job.reserved <= 0) continue;
    const inserted = await tx
      .insert(creditLedger)
      .values({ accountId: opts.accountId, delta: job.reserved, reason: "refund", jobId: job.id })
      .onConflictDoNothing()
      .returning({ id: creditLedger.id });
    if (inserted.length > 0) refunded += job.reserved;
  }
  if (refunded > 0) {
    await tx
      .update(accounts)
      .set({ creditsBalance: sql`${accounts.creditsBalance} + ${refunded}` })
      .where(eq(accounts.id, opts.accountId));
  }
  return refunded;
}
