import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { addFailFast, defaultJobOptions } from "./add-fail-fast.ts";

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
  return new Queue<ScrapeJobData>(SCRAPE_QUEUE, {
    connection: opts.connection,
    prefix: opts.prefix ?? "orbweaver",
    defaultJobOptions: defaultJobOptions(opts.attempts),
  });
}

/** Batch items queue behind single scrapes (BullMQ runs jobs without a priority first). */
export const BATCH_ITEM_PRIORITY = 10;

/** Dispatches a job id; the BullMQ job id equals the row id so a re-dispatch of a live job is a no-op. */
export async function enqueueScrapeJob(
  queue: Queue<ScrapeJobData>,
  jobId: string,
  opts: { batchItem?: boolean } = {},
): Promise<void> {
  await addFailFast(queue, {
    name: "scrape",
    data: { jobId },
    jobOptions: { jobId, ...(opts.batchItem ? { priority: BATCH_ITEM_PRIORITY } : {}) },
  });
}
