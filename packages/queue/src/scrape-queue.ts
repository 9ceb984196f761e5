import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { addBulkFailFast, defaultJobOptions, type JobToAdd } from "./add-fail-fast.ts";
import { watchQueueErrors } from "./close-queues.ts";

export const SCRAPE_QUEUE = "scrape";

/** Job data is the Postgres id only; the row holds the request. */
export interface ScrapeJobData {
  jobId: string;
}

/** Options for {@link createScrapeQueue}. */
export interface ScrapeQueueOptions {
  connection: Redis;
  /** Key prefix; tests use their own to isolate. Default "orbweaver". */
  prefix?: string;
  /** Attempts before a transient failure becomes final. Default 3. */
  attempts?: number;
}

export function createScrapeQueue(opts: ScrapeQueueOptions): Queue<ScrapeJobData> {
  return watchQueueErrors(
    new Queue<ScrapeJobData>(SCRAPE_QUEUE, {
      connection: opts.connection,
      prefix: opts.prefix ?? "orbweaver",
      defaultJobOptions: defaultJobOptions(opts.attempts),
    }),
  );
}

/** Batch items queue behind single scrapes (BullMQ runs jobs without a priority first). */
export const BATCH_ITEM_PRIORITY = 10;

/** Enqueues asked for in the current turn of the event loop, per queue, not yet sent. */
const gathering = new WeakMap<Queue<ScrapeJobData>, Array<{ job: JobToAdd<ScrapeJobData>; settle: Settle }>>();
type Settle = (err?: unknown) => void;

/**
 * Dispatches a job id; the BullMQ job id equals the row id so a re-dispatch of a live job is a no-op.
 * Enqueues asked for in the same turn of the event loop (a group of submits written together, a
 * batch's next items) go to Redis together in one `addBulk`; each caller still gets its own answer
 * (all of them fail together when Redis is unavailable).
 */
export function enqueueScrapeJob(
  queue: Queue<ScrapeJobData>,
  jobId: string,
  opts: { batchItem?: boolean } = {},
): Promise<void> {
  const job: JobToAdd<ScrapeJobData> = {
    name: "scrape",
    data: { jobId },
    jobOptions: { jobId, ...(opts.batchItem ? { priority: BATCH_ITEM_PRIORITY } : {}) },
  };
  return new Promise<void>((resolve, reject) => {
    const settle: Settle = (err) => (err === undefined ? resolve() : reject(err));
    const waiting = gathering.get(queue);
    if (waiting) {
      waiting.push({ job, settle });
      return;
    }
    const group = [{ job, settle }];
    gathering.set(queue, group);
    setImmediate(() => {
      gathering.delete(queue);
      addBulkFailFast(
        queue,
        group.map((g) => g.job),
      ).then(
        () => group.forEach((g) => g.settle()),
        (err: unknown) => group.forEach((g) => g.settle(err ?? new Error("enqueue failed"))),
      );
    });
  });
}
