import { and, eq, inArray, isNotNull, isNull, lt, not, or, sql } from "drizzle-orm";
import type { Db } from "../client.ts";
import { batches, jobs, type JobStatus } from "../schema/index.ts";
import type { JobRow } from "./get-job.ts";
import { addCreditsUsed, chargeUpTo, moveCredits } from "./ledger-moves.ts";
import { refundReservations } from "./refund-reservations.ts";

/** The statuses of a job not yet finished: the ones {@link startJobAttempt} claims. */
export const UNFINISHED = ["waiting", "delayed", "active"] as const;

/** The statuses a job ends in: every other {@link JobStatus}. */
export const FINISHED = ["completed", "failed", "cancelled"] as const satisfies readonly Exclude<
  JobStatus,
  (typeof UNFINISHED)[number]
>[];

/**
 * The job is to run again in a batch that was cancelled: its item was running when the cancel came
 * (so the cancel let it be), then its attempt failed transiently (`delayed`, waiting for a retry) or
 * died unsettled (still `active`: its worker was killed, and the queue delivers the job again).
 */
const rerunInCancelledBatch = sql`(${jobs.status} in ('delayed', 'active') and exists (select 1 from ${batches} b where b.id = ${jobs.batchId} and b.state = 'cancelled'))`;

/**
 * Claims a job for one attempt: status active, a fresh run token. Returns null when the job is
 * already terminal (a duplicate delivery of a finished job) or unknown. A new run of an item whose
 * batch was cancelled meanwhile (a retry, or a redelivery after its worker died) is not claimed: it
 * is cancelled, its reservation refunded, rather than loaded again and billed after the cancel (the
 * cancel refunds the items that wait, and a rerun waits as they do; the attempt running at the
 * cancel was let finish, and it did not).
 */
export async function startJobAttempt(db: Db, jobId: string): Promise<JobRow | null> {
  const row = await claimJob(db, jobId);
  if (row) return row;
  await cancelRerunInCancelledBatch(db, jobId);
  return null;
}

/** The columns of a job cancelled before it ran (a batch's cancel). */
export function cancelledBeforeRun() {
  return {
    status: "cancelled",
    finishedAt: sql`now()`,
    updatedAt: sql`now()`,
    progress: { message: "Cancelled", progress: 1 },
  } as const;
}

async function cancelRerunInCancelledBatch(db: Db, jobId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const cancelled = await tx
      .update(jobs)
      .set(cancelledBeforeRun())
      .where(and(eq(jobs.id, jobId), rerunInCancelledBatch))
      .returning({ id: jobs.id, reserved: jobs.creditsReserved, accountId: jobs.accountId });
    const [job] = cancelled;
    if (job) await refundReservations(tx, { accountId: job.accountId, jobs: cancelled });
  });
}

async function claimJob(db: Db, jobId: string): Promise<JobRow | null> {
  const [row] = await db
    .update(jobs)
    .set({
      status: "active",
      attempts: sql`${jobs.attempts} + 1`,
      runToken: sql`gen_random_uuid()`,
      startedAt: sql`coalesce(${jobs.startedAt}, now())`,
      updatedAt: sql`now()`,
      progress: { message: "Loading browser", progress: 0.05 },
      error: null,
    })
    .where(
      and(
        eq(jobs.id, jobId),
        inArray(jobs.status, [...UNFINISHED]),
        or(isNull(jobs.batchId), not(rerunInCancelledBatch)),
      ),
    )
    .returning();
  return row ?? null;
}

/** Writes progress; ignored when this attempt no longer owns the job. */
export async function updateJobProgress(
  db: Db,
  opts: { jobId: string; runToken: string; progress: { message: string; progress: number } },
): Promise<void> {
  await db
    .update(jobs)
    .set({ progress: opts.progress, updatedAt: sql`now()` })
    .where(and(eq(jobs.id, opts.jobId), eq(jobs.runToken, opts.runToken), eq(jobs.status, "active")));
}

/** Puts an attempt that failed transiently back to `delayed` (the queue retries it after a backoff). */
export async function markJobDelayed(db: Db, opts: { jobId: string; runToken: string; error: string }): Promise<void> {
  await db
    .update(jobs)
    .set({
      status: "delayed",
      progress: { message: `Retrying after error: ${opts.error}`, progress: 0 },
      updatedAt: sql`now()`,
    })
    .where(and(eq(jobs.id, opts.jobId), eq(jobs.runToken, opts.runToken), eq(jobs.status, "active")));
}

/** Options for {@link finishJob}. */
export interface FinishJobOptions {
  jobId: string;
  /** The attempt's token; null finishes the job whatever attempt owns it (used when the queue gives up). */
  runToken: string | null;
  status: "completed" | "failed";
  result?: unknown;
  error?: string | null;
  stats?: unknown;
  /** Credits charged; the rest of the reservation is refunded. Failed jobs charge 0. */
  creditsUsed: number;
  /**
   * Credits charged beyond the reservation (model tokens), taken from the balance as far as it
   * goes: the balance never goes below zero. Only on completed jobs.
   */
  extraCharge?: number;
  /** Ledger note of the extra charge. Default "model tokens". */
  extraChargeNote?: string;
}

/**
 * Writes the terminal state and settles credits in one transaction. Returns false when the write is
 * refused because another attempt owns the job or it is already terminal (so nothing is charged twice).
 */
export async function finishJob(db: Db, opts: FinishJobOptions): Promise<boolean> {
  return db.transaction(async (tx) => {
    const owner = opts.runToken === null ? undefined : eq(jobs.runToken, opts.runToken);
    const [row] = await tx
      .update(jobs)
      .set({
        status: opts.status,
        result: opts.status === "completed" ? (opts.result ?? null) : null,
        error: opts.status === "failed" ? (opts.error ?? "Scrape failed") : null,
        stats: opts.stats ?? null,
        creditsUsed: opts.status === "completed" ? sql`least(${opts.creditsUsed}, ${jobs.creditsReserved})` : 0,
        progress:
          opts.status === "completed"
            ? { message: "Scrape completed successfully", progress: 1 }
            : { message: "Scrape failed", progress: 1 },
        finishedAt: sql`now()`,
        updatedAt: sql`now()`,
      })
      .where(and(eq(jobs.id, opts.jobId), inArray(jobs.status, [...UNFINISHED]), owner))
      .returning({ accountId: jobs.accountId, reserved: jobs.creditsReserved, used: jobs.creditsUsed });
    if (!row) return false;
    const refund = row.reserved - row.used;
    if (refund > 0)
      await moveCredits(tx, { accountId: row.accountId, jobId: opts.jobId, delta: refund, reason: "refund" });
    if (opts.status === "completed" && (opts.extraCharge ?? 0) > 0) {
      // Beyond the reservation: as far as the balance goes.
      const charged = await chargeUpTo(tx, {
        accountId: row.accountId,
        jobId: opts.jobId,
        amount: opts.extraCharge ?? 0,
        note: opts.extraChargeNote ?? "model tokens",
      });
      if (charged > 0) await addCreditsUsed(tx, opts.jobId, charged);
    }
    return true;
  });
}

/**
 * Unfinished jobs not touched for `staleMs`: candidates for re-dispatch after Redis lost them.
 * `idleMs` is how long each has been untouched (by the database clock, so worker clocks do not matter).
 */
export async function listStaleUnfinishedJobs(
  db: Db,
  opts: { staleMs: number; limit?: number },
): Promise<Array<{ id: string; kind: string; status: string; idleMs: number }>> {
  return db
    .select({
      id: jobs.id,
      kind: jobs.kind,
      status: jobs.status,
      idleMs: sql<number>`(extract(epoch from now() - coalesce(${jobs.updatedAt}, ${jobs.createdAt})) * 1000)::float8`,
    })
    .from(jobs)
    .where(
      and(
        inArray(jobs.status, [...UNFINISHED]),
        // Batch items still waiting for a slot were never dispatched: nothing was lost.
        or(isNull(jobs.batchId), isNotNull(jobs.dispatchedAt)),
        or(lt(jobs.updatedAt, sql`now() - make_interval(secs => ${opts.staleMs / 1000})`), isNull(jobs.updatedAt)),
      ),
    )
    .orderBy(jobs.createdAt)
    .limit(opts.limit ?? 500);
}
