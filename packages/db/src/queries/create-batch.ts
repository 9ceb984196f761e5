import { and, count, eq, ne, sql } from "drizzle-orm";
import type { Db, Tx } from "../client.ts";
import { batches, batchItems, jobs } from "../schema/index.ts";
import { recordIdempotentJob, type IdempotencyEntry } from "./idempotency-keys.ts";
import { debitAccount, insertJobsWithReserves, lockAccount } from "./reserve-jobs.ts";

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
  /** The submit's `Idempotency-Key`, recorded for the batch in its transaction (none by default). */
  idempotency?: IdempotencyEntry;
}

export type CreateBatchResult =
  | { ok: true; batchId: string; itemIds: string[]; jobIds: string[] }
  | { ok: false; reason: "TOO_MANY_PENDING_JOBS" | "INSUFFICIENT_CREDITS" };

/**
 * Creates the batch, one scrape job per URL and one item per job, reserving every item's credits (and
 * records the submit's `Idempotency-Key`), in one transaction serialised per account. Nothing is
 * dispatched here (see claimBatchDispatch).
 */
export async function createBatch(db: Db, opts: CreateBatchOptions): Promise<CreateBatchResult> {
  return db.transaction(async (tx) => {
    await lockAccount(tx, opts.accountId);
    if ((await countPendingBatches(tx, opts.accountId)) >= opts.maxPendingBatches)
      return { ok: false, reason: "TOO_MANY_PENDING_JOBS" } as const;

    const total = opts.creditsPerItem * opts.urls.length;
    if (!(await debitAccount(tx, opts.accountId, total))) return { ok: false, reason: "INSUFFICIENT_CREDITS" } as const;

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
    // Not dispatched yet: claimBatchDispatch enqueues the items after the commit.
    const jobIds = await insertJobsWithReserves(
      tx,
      opts.urls.map((url) => ({
        accountId: opts.accountId,
        kind: "scrape",
        channel: opts.channel,
        batchId: batch.id,
        request: { ...opts.request, urls: [{ url, actions: [] }] },
        creditsReserved: opts.creditsPerItem,
        schemaWarnings: opts.schemaWarnings,
        progress: { message: "Waiting in queue", progress: 0 },
        dispatched: false,
      })),
    );
    const items = await tx
      .insert(batchItems)
      .values(
        opts.urls.map((url, position) => ({ batchId: batch.id, position, url, jobId: jobIds[position] as string })),
      )
      .returning({ id: batchItems.id });
    if (opts.idempotency)
      await recordIdempotentJob(tx, { accountId: opts.accountId, ...opts.idempotency, jobId: batch.id });
    return { ok: true, batchId: batch.id, itemIds: items.map((i) => i.id), jobIds } as const;
  });
}

/** The account's batches with work not finished (`except` left out); run under the account's lock. */
export async function countPendingBatches(tx: Tx, accountId: string, except?: string): Promise<number> {
  const [pending] = await tx
    .select({ n: count() })
    .from(batches)
    .where(
      and(
        eq(batches.accountId, accountId),
        eq(batches.state, "active"),
        except ? ne(batches.id, except) : undefined,
        sql`exists (select 1 from ${jobs} where ${jobs.batchId} = ${batches.id} and ${jobs.status} in ('waiting','delayed','active'))`,
      ),
    );
  return pending?.n ?? 0;
}
