import { randomUUID } from "node:crypto";
import { and, count, eq, inArray, isNull, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { accounts, creditLedger, jobs } from "../schema/index.ts";

/** Options for {@link createScrapeJob}. */
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
 * Inserts the job and reserves its credits in one transaction, serialised per account by an advisory
 * lock, so concurrent submits can neither exceed the pending-job limit nor overdraw the balance.
 */
export async function createScrapeJob(db: Db, opts: CreateScrapeJobOptions): Promise<CreateScrapeJobResult> {
  const [result] = await createScrapeJobs(db, [opts]);
  if (!result) throw new Error("createScrapeJobs returned nothing");
  return result;
}

/**
 * {@link createScrapeJob} for many jobs, of one account or several, in one transaction: the accounts'
 * advisory locks (taken in a fixed order, so two such transactions cannot deadlock), one pending
 * count and one balance read for all of them, one debit per account, one insert of each kind. Jobs
 * are decided in order: each is accepted while its account's pending count stays under its limit
 * and the balance covers it. Results are in the order of `items`.
 */
export async function createScrapeJobs(db: Db, items: CreateScrapeJobOptions[]): Promise<CreateScrapeJobResult[]> {
  if (items.length === 0) return [];
  const accountIds = [...new Set(items.map((item) => item.accountId))].sort();
  return db.transaction(async (tx) => {
    // The subquery is sorted before the outer query takes the locks (OFFSET 0 keeps it apart).
    await tx.execute(
      sql`select pg_advisory_xact_lock(h) from (select hashtextextended(a, 0) as h, a from unnest(${sql.param(accountIds)}::text[]) as a order by a offset 0) as ordered`,
    );
    const pendingRows = await tx
      .select({ accountId: jobs.accountId, n: count() })
      .from(jobs)
      .where(
        and(
          inArray(jobs.accountId, accountIds),
          eq(jobs.kind, "scrape"),
          isNull(jobs.batchId),
          inArray(jobs.status, ["waiting", "delayed", "active"]),
        ),
      )
      .groupBy(jobs.accountId);
    const balanceRows = await tx
      .select({ accountId: accounts.id, balance: accounts.creditsBalance })
      .from(accounts)
      .where(inArray(accounts.id, accountIds));
    const waiting = new Map(pendingRows.map((r) => [r.accountId, r.n]));
    const balance = new Map(balanceRows.map((r) => [r.accountId, r.balance]));
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

    const charged = [...debits].filter(([, total]) => total !== 0);
    if (charged.length > 0) {
      // Guarded: a debit from elsewhere (token charges) between the read and here cannot overdraw;
      // an account it would overdraw has all its jobs of this transaction refused.
      const values = sql.join(
        charged.map(([id, total]) => sql`(${id}::uuid, ${total}::numeric)`),
        sql`, `,
      );
      const debited = await tx.execute<{ id: string }>(
        sql`update ${accounts} set credits_balance = ${accounts.creditsBalance} - d.total
            from (values ${values}) as d(id, total)
            where ${accounts.id} = d.id and ${accounts.creditsBalance} >= d.total
            returning ${accounts.id} as id`,
      );
      const ok = new Set(debited.rows.map((r) => r.id));
      const refused = new Set(charged.map(([id]) => id).filter((id) => !ok.has(id)));
      if (refused.size > 0) {
        for (const [i, item] of items.entries()) {
          if (refused.has(item.accountId)) results[i] = { ok: false, reason: "INSUFFICIENT_CREDITS" };
        }
        accepted.splice(0, accepted.length, ...accepted.filter((item) => !refused.has(item.accountId)));
        if (accepted.length === 0) return results;
      }
    }
    await tx.insert(jobs).values(
      accepted.map((item) => ({
        id: item.id,
        accountId: item.accountId,
        kind: "scrape",
        channel: item.channel ?? "api",
        request: item.request,
        creditsReserved: item.creditsToReserve,
        schemaWarnings: item.schemaWarnings && item.schemaWarnings.length > 0 ? item.schemaWarnings : null,
        progress: { message: "Waiting in queue", progress: 0 },
        dispatchedAt: sql`now()`,
      })),
    );
    const reserves = accepted.filter((item) => item.creditsToReserve !== 0);
    if (reserves.length > 0) {
      await tx.insert(creditLedger).values(
        reserves.map((item) => ({
          accountId: item.accountId,
          delta: -item.creditsToReserve,
          reason: "reserve",
          jobId: item.id,
        })),
      );
    }
    return results;
  });
}
