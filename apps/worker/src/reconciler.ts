import { finishJob, getJob, listBatchesAwaitingDispatch, listStaleUnfinishedJobs, type Db } from "@orbweaver/db";
import { dispatchBatch, enqueueScrapeJob, type ScrapeJobData } from "@orbweaver/queue";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";

/** Options for {@link startReconciler}. */
export interface ReconcilerOptions {
  db: Db;
  queue: Queue<ScrapeJobData>;
  redis: Redis;
  log: Logger;
  intervalMs: number;
  /** A job untouched this long while unfinished is checked against the queue. */
  staleMs: number;
  maxAttempts: number;
  batchConcurrency: number;
  lockKey: string;
}

/**
 * Postgres is the system of record: a job it holds as unfinished but that the queue no longer knows
 * (Redis flushed or restarted, a stall BullMQ gave up on) is dispatched again, or failed with a full
 * refund once its attempts are used up. One worker at a time runs a pass (a Redis lock).
 */
export function startReconciler(opts: ReconcilerOptions): { stop(): void; runOnce(): Promise<number> } {
  const runOnce = async (): Promise<number> => {
    const locked = await opts.redis.set(opts.lockKey, "1", "PX", Math.max(opts.intervalMs - 500, 1000), "NX");
    if (locked !== "OK") return 0;
    let redispatched = 0;
    for (const candidate of await listStaleUnfinishedJobs(opts.db, { staleMs: opts.staleMs })) {
      const bullJob = await opts.queue.getJob(candidate.id);
      const state = bullJob ? await bullJob.getState() : "missing";
      if (["active", "waiting", "delayed", "prioritized", "waiting-children"].includes(state)) continue;
      const row = await getJob(opts.db, candidate.id);
      if (!row) continue;
      if (row.attempts >= opts.maxAttempts) {
        await finishJob(opts.db, {
          jobId: row.id,
          runToken: null,
          status: "failed",
          error: `The job was interrupted ${row.attempts} times and was given up`,
          creditsUsed: 0,
        });
        opts.log.warn({ jobId: row.id, attempts: row.attempts }, "gave up an interrupted job");
        continue;
      }
      await bullJob?.remove().catch(() => undefined);
      await enqueueScrapeJob(opts.queue, row.id, { batchItem: row.batchId !== null });
      redispatched += 1;
      opts.log.warn({ jobId: row.id, queueState: state }, "re-dispatched a job the queue had lost");
    }
    for (const batchId of await listBatchesAwaitingDispatch(opts.db)) {
      redispatched += await dispatchBatch(opts.db, opts.queue, { batchId, concurrency: opts.batchConcurrency });
    }
    return redispatched;
  };
  const timer = setInterval(() => {
    runOnce().catch((err: unknown) => opts.log.warn({ err }, "reconcile pass failed"));
  }, opts.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), runOnce };
}
