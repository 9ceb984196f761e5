import { Queue, type JobsOptions } from "bullmq";
import type { Redis } from "ioredis";

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
  const defaultJobOptions: JobsOptions = {
    attempts: opts.attempts ?? 3,
    backoff: { type: "exponential", delay: 2000 },
    // Postgres keeps results; Redis keeps only enough to dedupe recent deliveries.
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { age: 24 * 3600, count: 5000 },
  };
  return new Queue<ScrapeJobData>(SCRAPE_QUEUE, {
    connection: opts.connection,
    prefix: opts.prefix ?? "orbweaver",
    defaultJobOptions,
  });
}

/** Batch items queue behind single scrapes (BullMQ runs jobs without a priority first). */
export const BATCH_ITEM_PRIORITY = 10;

export class QueueUnavailableError extends Error {
  override name = "QueueUnavailableError";
}

/** How long an enqueue may wait for Redis before the caller is told the queue is unavailable. */
const ENQUEUE_TIMEOUT_MS = 5000;

/**
 * Dispatches a job id; the BullMQ job id equals the row id so a re-dispatch of a live job is a no-op.
 * Fails fast when Redis is down: BullMQ's `add` would otherwise wait for the connection forever.
 */
export async function enqueueScrapeJob(
  queue: Queue<ScrapeJobData>,
  jobId: string,
  opts: { batchItem?: boolean } = {},
): Promise<void> {
  const connection = queue.opts.connection as { status?: string };
  if (connection.status !== undefined && connection.status !== "ready" && connection.status !== "connect") {
    throw new QueueUnavailableError(`Redis connection is ${connection.status}`);
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QueueUnavailableError("Redis did not answer in time")), ENQUEUE_TIMEOUT_MS);
  });
  try {
    await Promise.race([
      queue.add("scrape", { jobId }, { jobId, ...(opts.batchItem ? { priority: BATCH_ITEM_PRIORITY } : {}) }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
