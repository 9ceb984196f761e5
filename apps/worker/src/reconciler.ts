import {
  finishCrawl,
  finishJob,
  getJob,
  listBatchesAwaitingDispatch,
  listStaleUnfinishedJobs,
  purgeIdempotencyKeys,
  type Db,
} from "@orbweaver/db";
import {
  dispatchBatch,
  enqueueCrawlJob,
  enqueueScrapeJob,
  type CrawlJobData,
  type ScrapeJobData,
} from "@orbweaver/queue";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { everyInterval } from "./every-interval.ts";

/** Options for {@link startReconciler}. */
export interface ReconcilerOptions {
  db: Db;
  queue: Queue<ScrapeJobData>;
  /** Crawls (jobs of kind `crawl`) are re-dispatched here; their frontier resumes where it was. */
  crawlQueue?: Queue<CrawlJobData>;
  redis: Redis;
  log: Logger;
  intervalMs: number;
  /**
   * A running (`active`) job the queue no longer knows is dispatched again only once untouched this
   * long: after a flush its worker may still be on it, and that run's result write stays valid.
   */
  staleMs: number;
  /**
   * A waiting or delayed job untouched this long is checked against the queue, and so is a running
   * one whose queue entry has ended (completed or failed without settling the row, e.g. every
   * attempt hit a database outage). Default `staleMs`.
   */
  queuedStaleMs?: number;
  maxAttempts: number;
  batchConcurrency: number;
  lockKey: string;
  /** Told when a crawl is given up, to send its `crawl.failed` webhook (the crawl worker's `announceFailure`). */
  onCrawlGivenUp?: (crawlId: string, error: string) => Promise<void>;
}

/**
 * Postgres is the system of record: a job it holds as unfinished but that the queue no longer knows
 * (Redis flushed or restarted, a stall BullMQ gave up on) is dispatched again, or failed with a full
 * refund once its attempts are used up. One worker at a time runs a pass (a Redis lock).
 */
export function startReconciler(opts: ReconcilerOptions): { stop(): void; runOnce(): Promise<number> } {
  const queuedStaleMs = Math.min(opts.queuedStaleMs ?? opts.staleMs, opts.staleMs);
  const runOnce = async (): Promise<number> => {
    const locked = await opts.redis.set(opts.lockKey, "1", "PX", Math.max(opts.intervalMs - 500, 1000), "NX");
    if (locked !== "OK") return 0;
    let redispatched = 0;
    for (const candidate of await listStaleUnfinishedJobs(opts.db, { staleMs: queuedStaleMs })) {
      // Crawls keep the longer threshold whatever their state: a running crawl may sit on a slow page.
      if (candidate.kind === "crawl" && candidate.idleMs < opts.staleMs) continue;
      const row = await getJob(opts.db, candidate.id);
      if (!row) continue;
      if (row.kind === "crawl") {
        if (opts.crawlQueue && (await reconcileCrawl(opts, opts.crawlQueue, row))) redispatched += 1;
        continue;
      }
      const bullJob = await opts.queue.getJob(candidate.id);
      const state = bullJob ? await bullJob.getState() : "missing";
      if (LIVE_STATES.includes(state)) continue;
      if (state === "missing" && row.status === "active" && candidate.idleMs < opts.staleMs) continue;
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
    // Idempotency-Keys past their 24 hours (Redis lets its copies expire by themselves).
    await purgeIdempotencyKeys(opts.db);
    return redispatched;
  };
  const stop = everyInterval(runOnce, {
    intervalMs: opts.intervalMs,
    onError: (err) => opts.log.warn({ err }, "reconcile pass failed"),
  });
  return { stop, runOnce };
}

const LIVE_STATES = ["active", "waiting", "delayed", "prioritized", "waiting-children"];

/** A crawl the queue lost is dispatched again (its frontier is in Postgres), or failed once its attempts are used up. */
async function reconcileCrawl(
  opts: ReconcilerOptions,
  queue: Queue<CrawlJobData>,
  row: { id: string; attempts: number },
): Promise<boolean> {
  const bullJob = await queue.getJob(row.id);
  const state = bullJob ? await bullJob.getState() : "missing";
  if (LIVE_STATES.includes(state)) return false;
  if (row.attempts >= opts.maxAttempts) {
    const error = `The crawl was interrupted ${row.attempts} times and was given up`;
    const settled = await finishCrawl(opts.db, {
      crawlId: row.id,
      runToken: null,
      status: "failed",
      error,
      creditsPer1kTokens: 0,
    });
    opts.log.warn({ crawlId: row.id, attempts: row.attempts }, "gave up an interrupted crawl");
    if (settled)
      await opts
        .onCrawlGivenUp?.(row.id, error)
        .catch((err: unknown) => opts.log.warn({ err }, "crawl.failed not sent"));
    return false;
  }
  await bullJob?.remove().catch(() => undefined);
  await enqueueCrawlJob(queue, row.id);
  opts.log.warn({ crawlId: row.id, queueState: state }, "re-dispatched a crawl the queue had lost");
  return true;
}
