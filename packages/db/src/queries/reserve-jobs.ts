// The steps submits of batches, batch retries and crawls share: serialise on the account, debit the
// reservation guarded by the balance, and insert job rows together with their `reserve` ledger
// entries. Each runs inside the caller's transaction. (Scrape submits do the same in one database
// function, see create-scrape-job.ts.)
import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import type { Tx } from "../client.ts";
import { accounts, creditLedger, jobs } from "../schema/index.ts";

/**
 * Takes the account's advisory lock (held until the transaction ends). Every submit of an account
 * takes this lock first, so its pending-job limit and balance are read and changed by one at a
 * time. Scrape submits take the same lock inside `orbweaver_create_scrape_jobs` (migration 0007):
 * the key is `hashtextextended` of the account id's text, as Postgres writes a uuid.
 */
export async function lockAccount(tx: Tx, accountId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${accountId}::uuid::text, 0))`);
}

/**
 * Debits the account by `total`, only where the balance covers it (above it, with `keepPositive`,
 * for submits that must leave credits to pay tokens with). Returns whether it was debited. A debit
 * from elsewhere between a caller's balance read and this cannot overdraw.
 */
export async function debitAccount(
  tx: Tx,
  accountId: string,
  total: number,
  opts: { keepPositive?: boolean } = {},
): Promise<boolean> {
  const covers = opts.keepPositive
    ? sql`${accounts.creditsBalance} > ${total}::numeric`
    : sql`${accounts.creditsBalance} >= ${total}::numeric`;
  const debited = await tx.execute<{ id: string }>(
    sql`update ${accounts} set credits_balance = ${accounts.creditsBalance} - ${total}::numeric
        where ${accounts.id} = ${accountId} and ${covers}
        returning ${accounts.id} as id`,
  );
  return debited.rows.length > 0;
}

/** A job row to insert with {@link insertJobsWithReserves}. */
export interface NewJob {
  /** Chosen by the caller when it must answer before the insert; generated otherwise. */
  id?: string;
  accountId: string;
  kind: "scrape" | "crawl";
  channel?: string;
  request: unknown;
  /** Credits reserved for the job (already debited); a non-zero one gets its `reserve` ledger entry. */
  creditsReserved: number;
  schemaWarnings?: string[] | null;
  progress: unknown;
  batchId?: string;
  /** Mark it dispatched now (the caller enqueues it after the commit); batch items are dispatched later. */
  dispatched: boolean;
}

/**
 * Inserts the jobs and one `reserve` ledger entry for each that reserves credits: the ledger always
 * explains the debit. Returns the job ids, in the order of `rows`.
 */
export async function insertJobsWithReserves(tx: Tx, rows: readonly NewJob[]): Promise<string[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((row) => row.id ?? randomUUID());
  await tx.insert(jobs).values(
    rows.map((row, i) => ({
      id: ids[i],
      accountId: row.accountId,
      kind: row.kind,
      channel: row.channel ?? "api",
      request: row.request,
      creditsReserved: row.creditsReserved,
      schemaWarnings: row.schemaWarnings && row.schemaWarnings.length > 0 ? row.schemaWarnings : null,
      progress: row.progress,
      ...(row.batchId ? { batchId: row.batchId } : {}),
      ...(row.dispatched ? { dispatchedAt: sql`now()` } : {}),
    })),
  );
  const reserves = rows.flatMap((row, i) =>
    row.creditsReserved !== 0
      ? [{ accountId: row.accountId, delta: -row.creditsReserved, reason: "reserve", jobId: ids[i] as string }]
      : [],
  );
  if (reserves.length > 0) await tx.insert(creditLedger).values(reserves);
  return ids;
}
