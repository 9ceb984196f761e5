import { and, count, eq, gte, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { accounts, batches, batchItems, creditLedger, jobs } from "../schema/index.ts";

/** Options for {@link createBatch}. */
export interface CreateBatchOptions {
  accountId: string;
  urls: string[];
  /** Options shared by every item (normalised, no URLs, no secrets). */
  request: Record<string, unknown>;
  outputFormat: string;
  creditsPerItem: number;
  maxPendingBatches: number;
  schemaWarnings?: string[];
  channel?: string;
}

export type CreateBatchResult =
  | { ok: true; batchId: string; itemIds: string[]; jobIds: string[] }
  | { ok: false; reason: "TOO_MANY_PENDING_JOBS" | "INSUFFICIENT_CREDITS" };

/**
 * Creates the batch, one scrape job per URL and one item per job, reserving every item's credits, in
 * one transaction serialised per account. Nothing is dispatched here (see claimBatchDispatch).
 */
export async function createBatch(db: Db, opts: CreateBatchOptions): Promise<CreateBatchResult> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${opts.accountId}, 0))`);
    const [pending] = await tx
      .select({ n: count() })
      .from(batches)
      .where(
        and(
          eq(batches.accountId, opts.accountId),
          eq(batches.state, "active"),
          sql`exists (select 1 from ${jobs} where ${jobs.batchId} = ${batches.id} and ${jobs.status} in ('waiting','delayed','active'))`,
        ),
      );
    if ((pending?.n ?? 0) >= opts.maxPendingBatches) return { ok: false, reason: "TOO_MANY_PENDING_JOBS" } as const;

    const total = opts.creditsPerItem * opts.urls.length;
    const [debited] = await tx
      .update(accounts)
      .set({ creditsBalance: sql`${accounts.creditsBalance} - ${total}` })
      .where(and(eq(accounts.id, opts.accountId), gte(accounts.creditsBalance, total)))
      .returning({ id: accounts.id });
    if (!debited) return { ok: false, reason: "INSUFFICIENT_CREDITS" } as const;

    const [batch] = await tx
      .insert(batches)
      .values({
        accountId: opts.accountId,
        channel: opts.channel ?? "api",
        outputFormat: opts.outputFormat,
        total: opts.urls.length,
        request: opts.request,
        creditsPerItem: opts.creditsPerItem,
        schemaWarnings: opts.schemaWarnings && opts.schemaWarnings.length > 0 ? opts.schemaWarnings : null,
      })
      .returning({ id: batches.id });
    if (!batch) throw new Error("batch insert returned nothing");
    const jobRows = await tx
      .insert(jobs)
      .values(
        opts.urls.map((url) => ({
          accountId: opts.accountId,
          kind: "scrape",
          channel: opts.channel ?? "api",
          batchId: batch.id,
          request: { ...opts.request, urls: [{ url, actions: [] }] },
          creditsReserved: opts.creditsPerItem,
          schemaWarnings: opts.schemaWarnings && opts.schemaWarnings.length > 0 ? opts.schemaWarnings : null,
          progress: { message: "Waiting in queue", progress: 0 },
        })),
      )
      .returning({ id: jobs.id });
    if (opts.creditsPerItem !== 0) {
      await tx.insert(creditLedger).values(
        jobRows.map((j) => ({
          accountId: opts.accountId,
          delta: -opts.creditsPerItem,
          reason: "reserve",
          jobId: j.id,
        })),
      );
    }
    const items = await tx
      .insert(batchItems)
      .values(opts.urls.map((url, position) => ({ batchId: batch.id, position, url, jobId: jobRows[position]!.id })))
      .returning({ id: batchItems.id });
    return { ok: true, batchId: batch.id, itemIds: items.map((i) => i.id), jobIds: jobRows.map((j) => j.id) } as const;
  });
}
