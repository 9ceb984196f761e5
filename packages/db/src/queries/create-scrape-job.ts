import { sql } from "drizzle-orm";
import { randomUUID } from "node:crypto";
import type { Db } from "../client.ts";
import type { IdempotencyEntry } from "./idempotency-keys.ts";

/** One job for {@link createScrapeJobs}. */
export interface CreateScrapeJobOptions {
  /** The job's id; a fresh one when absent. */
  id?: string;
  accountId: string;
  request: unknown;
  creditsToReserve: number;
  maxPendingJobs: number;
  schemaWarnings?: string[];
  channel?: string;
  /** The submit's `Idempotency-Key`, recorded with the job when it is accepted (none by default). */
  idempotency?: IdempotencyEntry;
}

export type CreateScrapeJobResult =
  { ok: true; jobId: string } | { ok: false; reason: "TOO_MANY_PENDING_JOBS" | "INSUFFICIENT_CREDITS" };

/**
 * Inserts scrape jobs and reserves their credits, of one account or several, in one statement: the
 * database function `orbweaver_create_scrape_jobs` (migrations 0007, 0008, 0009, 0015) takes the accounts'
 * advisory locks (so concurrent submits can neither exceed the pending-job limit nor overdraw the balance),
 * reads the balances and pending counts after them (`accounts.pending_scrapes`, kept by triggers), decides the jobs in order — each is accepted
 * while its account's pending count stays under its limit and the balance covers it — debits each
 * account once, guarded by its balance, and inserts the job rows with their `reserve` ledger
 * entries and, for keyed items, their `Idempotency-Key` records (migration 0015). One round trip instead of a transaction of seven. Results are in the order of `items`.
 */
export async function createScrapeJobs(db: Db, items: CreateScrapeJobOptions[]): Promise<CreateScrapeJobResult[]> {
  if (items.length === 0) return [];
  const payload = items.map((item) => ({
    id: item.id ?? randomUUID(),
    accountId: item.accountId,
    request: item.request,
    credits: item.creditsToReserve,
    maxPending: item.maxPendingJobs,
    warnings: item.schemaWarnings && item.schemaWarnings.length > 0 ? item.schemaWarnings : null,
    channel: item.channel ?? null,
    // Absent, not null, on unkeyed items: the function's check for keys is on the property.
    ...(item.idempotency
      ? { idem: { kind: item.idempotency.kind, key: item.idempotency.key, hash: item.idempotency.requestHash } }
      : {}),
  }));
  // Not through storableJson: a request's text is refused at the gateway (400), never altered here;
  // one that got past would fail this group, which the gateway's job writer then writes one by one.
  const answer = await db.execute<{ results: CreateScrapeJobResult[] }>(
    sql`select orbweaver_create_scrape_jobs(${JSON.stringify(payload)}::jsonb) as results`,
  );
  const results = answer.rows[0]?.results;
  if (!Array.isArray(results) || results.length !== items.length) {
    throw new Error(`orbweaver_create_scrape_jobs answered ${results?.length ?? "nothing"} for ${items.length} items`);
  }
  return results;
}
