import { randomUUID } from "node:crypto";
import { and, count, eq, gte, inArray, isNull, sql } from "drizzle-orm";
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

/** One job of {@link createScrapeJobs}. */
export type NewScrapeJob = Omit<CreateScrapeJobOptions, "accountId">;

/**
 * Inserts the job and reserves its credits in one transaction, serialised per account by an advisory
 * lock, so concurrent submits can neither exceed the pending-job limit nor overdraw the balance.
 */
export async function createScrapeJob(db: Db, opts: CreateScrapeJobOptions): Promise<CreateScrapeJobResult> {
  const [result] = await createScrapeJobs(db, opts.accountId, [opts]);
  if (!result) throw new Error("createScrapeJobs returned nothing");
  return result;
}

/**
 * {@link createScrapeJob} for several jobs of one account in one transaction (one lock, one count,
 * one debit, one insert of each kind), deciding in order: each job is accepted while the pending
 * count stays under its limit and the balance covers it. Results are in the order of `items`.
 */
export async function createScrapeJobs(
  db: Db,
  accountId: string,
  items: NewScrapeJob[],
): Promise<CreateScrapeJobResult[]> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${accountId}, 0))`);
    const [pending] = await tx
      .select({ n: count() })
      .from(jobs)
      .where(
        and(
          eq(jobs.accountId, accountId),
          eq(jobs.kind, "scrape"),
          isNull(jobs.batchId),
          inArray(jobs.status, ["waiting", "delayed", "active"]),
        ),
      );
    const [account] = await tx
      .select({ balance: accounts.creditsBalance })
      .from(accounts)
      .where(eq(accounts.id, accountId));
    let waiting = pending?.n ?? 0;
    let balance = account?.balance ?? 0;
    const accepted: Array<NewScrapeJob & { id: string }> = [];
    const results: CreateScrapeJobResult[] = items.map((item) => {
      if (waiting >= item.maxPendingJobs) return { ok: false, reason: "TOO_MANY_PENDING_JOBS" } as const;
      if (!account || balance < item.creditsToReserve) return { ok: false, reason: "INSUFFICIENT_CREDITS" } as const;
      waiting += 1;
      balance -= item.creditsToReserve;
      const id = randomUUID();
      accepted.push({ ...item, id });
      return { ok: true, jobId: id } as const;
    });
    if (accepted.length === 0) return results;

    const total = accepted.reduce((sum, item) => sum + item.creditsToReserve, 0);
    if (total !== 0) {
      // Guarded: a debit from elsewhere (token charges) between the read and here cannot overdraw.
      const [debited] = await tx
        .update(accounts)
        .set({ creditsBalance: sql`${accounts.creditsBalance} - ${total}` })
        .where(and(eq(accounts.id, accountId), gte(accounts.creditsBalance, total)))
        .returning({ id: accounts.id });
      if (!debited) return items.map(() => ({ ok: false, reason: "INSUFFICIENT_CREDITS" }) as const);
    }
    await tx.insert(jobs).values(
      accepted.map((item) => ({
        id: item.id,
        accountId,
        kind: "scrape",
        channel: item.channel ?? "api",
        request: item.request,
        creditsReserved: item.creditsToReserve,
        schemaWarnings: item.schemaWarnings && item.schemaWarnings.length > 0 ? item.schemaWarnings : null,
        progress: { message: "Waiting in queue", progress: 0 },
        dispatchedAt: sql`now()`,
      })),
    );
    const charged = accepted.filter((item) => item.creditsToReserve !== 0);
    if (charged.length > 0) {
      await tx
        .insert(creditLedger)
        .values(
          charged.map((item) => ({ accountId, delta: -item.creditsToReserve, reason: "reserve", jobId: item.id })),
        );
    }
    return results;
  });
}
