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
 * Debits each account by its total in one statement, only where the balance covers it (above it,
 * with `keepPositive`, for submits that must leave credits to pay tokens with). Returns the
 * accounts debited; an account missing from the answer was not touched. A debit from elsewhere
 * between a caller's balance read and this cannot overdraw.
 */
export async function debitAccounts(
  tx: Tx,
  totals: ReadonlyMap<string, number>,
  opts: { keepPositive?: boolean } = {},
): Promise<Set<string>> {
  if (totals.size === 0) return new Set();
  const values = sql.join(
    [...totals].map(([id, total]) => sql`(${id}::uuid, ${total}::numeric)`),
    sql`, `,
  );
  const covers = opts.keepPositive
    ? sql`${accounts.creditsBalance} > d.total`
    : sql`${accounts.creditsBalance} >= d.total`;
  const debited = await tx.execute<{ id: string }>(
    sql`update ${accounts} set credits_balance = ${accounts.creditsBalance} - d.total
        from (values ${values}) as d(id, total)
        where ${accounts.id} = d.id and ${covers}
        returning ${accounts.id} as id`,
  );
  return new Set(debited.rows.map((r) => r.id));
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
