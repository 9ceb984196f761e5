import { and, eq, gt, lte, sql } from "drizzle-orm";
import type { Db, Tx } from "../client.ts";
import { idempotencyKeys } from "../schema/index.ts";

/**
 * How long an `Idempotency-Key` keeps returning the job it created. Scrape submits record their keys
 * in `orbweaver_create_scrape_jobs` (migration 0015), which writes the same 24 hours.
 */
export const IDEMPOTENCY_WINDOW_SECONDS = 24 * 3600;

const windowStart = sql`now() - make_interval(secs => ${IDEMPOTENCY_WINDOW_SECONDS})`;

export interface IdempotencyKeyRef {
  accountId: string;
  /** The submit route: scrape, batch or crawl. */
  kind: string;
  key: string;
}

/**
 * The key a keyed submit records in the transaction that creates its job (the account is the
 * job's): a job that committed holds its key even when the gateway never heard the commit.
 */
export interface IdempotencyEntry {
  /** The submit route: scrape, batch or crawl. */
  kind: string;
  key: string;
  /** Hash of the request the key is bound to. */
  requestHash: string;
}

/** A key's job and the hash of the request that created it (null for keys recorded without one). */
export interface IdempotentJob {
  jobId: string;
  requestHash: string | null;
}

/** The account's key as long as its window lasts. */
function liveKey(ref: IdempotencyKeyRef) {
  return and(
    eq(idempotencyKeys.accountId, ref.accountId),
    eq(idempotencyKeys.kind, ref.kind),
    eq(idempotencyKeys.key, ref.key),
    gt(idempotencyKeys.createdAt, windowStart),
  );
}

/** The job the account's key created within the window, or null. */
export async function findIdempotentJob(db: Db, ref: IdempotencyKeyRef): Promise<IdempotentJob | null> {
  const [row] = await db
    .select({ jobId: idempotencyKeys.jobId, requestHash: idempotencyKeys.requestHash })
    .from(idempotencyKeys)
    .where(liveKey(ref));
  return row ?? null;
}

/**
 * Records the job a key created, inside the transaction that creates it; a key whose window is over
 * is taken over, a live one is kept.
 */
export async function recordIdempotentJob(tx: Tx, ref: IdempotencyKeyRef & IdempotentJob): Promise<void> {
  await tx
    .insert(idempotencyKeys)
    .values({ accountId: ref.accountId, kind: ref.kind, key: ref.key, jobId: ref.jobId, requestHash: ref.requestHash })
    .onConflictDoUpdate({
      target: [idempotencyKeys.accountId, idempotencyKeys.kind, idempotencyKeys.key],
      set: { jobId: ref.jobId, requestHash: ref.requestHash, createdAt: sql`now()` },
      setWhere: lte(idempotencyKeys.createdAt, windowStart),
    });
}

/**
 * Lets a key go again after its submit was answered with an error although its job was written (the
 * queue was unreachable and the job settled as failed): the client's retry makes a new attempt.
 * Only the key's live record bound to this request is deleted.
 */
export async function forgetIdempotentJob(db: Db, ref: IdempotencyKeyRef & { requestHash: string }): Promise<void> {
  await db.delete(idempotencyKeys).where(and(liveKey(ref), eq(idempotencyKeys.requestHash, ref.requestHash)));
}

/** Deletes keys whose window is over; returns how many. */
export async function purgeIdempotencyKeys(db: Db): Promise<number> {
  const gone = await db
    .delete(idempotencyKeys)
    .where(lte(idempotencyKeys.createdAt, windowStart))
    .returning({ key: idempotencyKeys.key });
  return gone.length;
}
