import { and, eq, gt, lte, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { idempotencyKeys } from "../schema/index.ts";

/** How long an `Idempotency-Key` keeps returning the job it created. */
export const IDEMPOTENCY_WINDOW_SECONDS = 24 * 3600;

const windowStart = sql`now() - make_interval(secs => ${IDEMPOTENCY_WINDOW_SECONDS})`;

export interface IdempotencyKeyRef {
  accountId: string;
  /** The submit route: scrape, batch or crawl. */
  kind: string;
  key: string;
}

/** A key's job and the hash of the request that created it (null for keys recorded without one). */
export interface IdempotentJob {
  jobId: string;
  requestHash: string | null;
}

/** The job the account's key created within the window, or null. */
export async function findIdempotentJob(db: Db, ref: IdempotencyKeyRef): Promise<IdempotentJob | null> {
  const [row] = await db
    .select({ jobId: idempotencyKeys.jobId, requestHash: idempotencyKeys.requestHash })
    .from(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.accountId, ref.accountId),
        eq(idempotencyKeys.kind, ref.kind),
        eq(idempotencyKeys.key, ref.key),
        gt(idempotencyKeys.createdAt, windowStart),
      ),
    );
  return row ?? null;
}

/** Records the job a key created; a key whose window is over is taken over, a live one is kept. */
export async function recordIdempotentJob(db: Db, ref: IdempotencyKeyRef & IdempotentJob): Promise<void> {
  await db
    .insert(idempotencyKeys)
    .values({ accountId: ref.accountId, kind: ref.kind, key: ref.key, jobId: ref.jobId, requestHash: ref.requestHash })
    .onConflictDoUpdate({
      target: [idempotencyKeys.accountId, idempotencyKeys.kind, idempotencyKeys.key],
      set: { jobId: ref.jobId, requestHash: ref.requestHash, createdAt: sql`now()` },
      setWhere: lte(idempotencyKeys.createdAt, windowStart),
    });
}

/** Deletes keys whose window is over; returns how many. */
export async function purgeIdempotencyKeys(db: Db): Promise<number> {
  const gone = await db
    .delete(idempotencyKeys)
    .where(lte(idempotencyKeys.createdAt, windowStart))
    .returning({ key: idempotencyKeys.key });
  return gone.length;
}
