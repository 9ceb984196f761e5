import { sql } from "drizzle-orm";
import { randomUUID } from "node:crypto";
import type { Db } from "../client.ts";
import { accounts, jobs } from "../schema/index.ts";
import { debitAccounts, insertJobsWithReserves, lockAccounts } from "./reserve-jobs.ts";

/** One job for {@link createScrapeJobs}. */
export interface CreateScrapeJobOptions {
  accountId: string;
  request: unknown;
  creditsToReserve: number;
  maxPendingJobs: number;
  schemaWarnings?: string[];
  channel?: string;
}

export type CreateScrapeJobResult =
  { ok: true; jobId: string } | { ok: false; reason: "TOO_MANY_PENDING_JOBS" | "INSUFFICIENT_CREDITS" };

/**
 * Inserts scrape jobs and reserves their credits, of one account or several, in one transaction:
 * the accounts' advisory locks (so concurrent submits can neither exceed the pending-job limit nor
 * overdraw the balance), one pending count and one balance read for all of them, one debit per
 * account, one insert of each kind. Jobs are decided in order: each is accepted while its account's
 * pending count stays under its limit and the balance covers it. Results are in the order of `items`.
 */
export async function createScrapeJobs(db: Db, items: CreateScrapeJobOptions[]): Promise<CreateScrapeJobResult[]> {
  if (items.length === 0) return [];
  const accountIds = [...new Set(items.map((item) => item.accountId))];
  return db.transaction(async (tx) => {
    await lockAccounts(tx, accountIds);
    // One read for the balances and the pending counts. The status list is written out as the
    // partial index jobs_pending_scrapes_idx states it, so the planner can count on that index.
    const read = await tx.execute<{ id: string; balance: string; pending: number }>(
      sql`select a.id, a.credits_balance as balance,
                 (select count(*)::int from ${jobs} j
                   where j.account_id = a.id and j.kind = 'scrape' and j.batch_id is null
                     and j.status in ('waiting', 'delayed', 'active')) as pending
            from ${accounts} a
           where a.id = any(${sql.param(accountIds)}::uuid[])`,
    );
    const waiting = new Map(read.rows.map((r) => [r.id, r.pending]));
    const balance = new Map(read.rows.map((r) => [r.id, Number(r.balance)]));
    const debits = new Map<string, number>();
    const accepted: Array<CreateScrapeJobOptions & { id: string }> = [];
    const results: CreateScrapeJobResult[] = items.map((item) => {
      const pending = waiting.get(item.accountId) ?? 0;
      const left = balance.get(item.accountId);
      if (pending >= item.maxPendingJobs) return { ok: false, reason: "TOO_MANY_PENDING_JOBS" } as const;
      if (left === undefined || left < item.creditsToReserve)
        return { ok: false, reason: "INSUFFICIENT_CREDITS" } as const;
      waiting.set(item.accountId, pending + 1);
      balance.set(item.accountId, left - item.creditsToReserve);
      debits.set(item.accountId, (debits.get(item.accountId) ?? 0) + item.creditsToReserve);
      const id = randomUUID();
      accepted.push({ ...item, id });
      return { ok: true, jobId: id } as const;
    });
    if (accepted.length === 0) return results;

    // Guarded: a debit from elsewhere (token charges) between the read and here cannot overdraw;
    // an account it would overdraw has all its jobs of this transaction refused.
    const charged = new Map([...debits].filter(([, total]) => total !== 0));
    const debited = await debitAccounts(tx, charged);
    const refused = new Set([...charged.keys()].filter((id) => !debited.has(id)));
    if (refused.size > 0) {
      for (const [i, item] of items.entries()) {
        if (refused.has(item.accountId)) results[i] = { ok: false, reason: "INSUFFICIENT_CREDITS" };
      }
      accepted.splice(0, accepted.length, ...accepted.filter((item) => !refused.has(item.accountId)));
      if (accepted.length === 0) return results;
    }
    await insertJobsWithReserves(
      tx,
      accepted.map((item) => ({
        id: item.id,
        accountId: item.accountId,
        kind: "scrape",
        channel: item.channel,
        request: item.request,
        creditsReserved: item.creditsToReserve,
        schemaWarnings: item.schemaWarnings,
        progress: { message: "Waiting in queue", progress: 0 },
        dispatched: true,
      })),
    );
    return results;
  });
}
