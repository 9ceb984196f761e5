import { Queue, type JobsOptions } from "bullmq";
import type { Redis } from "ioredis";
import { QueueUnavailableError } from "./scrape-queue.ts";

export const CRAWL_QUEUE = "crawl";

/** Job data is the crawl's Postgres id only; the rows hold the settings and the frontier. */
export interface CrawlJobData {
  crawlId: string;
}

/** Options for {@link createCrawlQueue}. */
export interface CrawlQueueOptions {
  connection: Redis;
  /** Key prefix; tests use their own to isolate. Default "orbweaver". */
  prefix?: string;
  /** Attempts before an unexpected failure becomes final. Default 3. */
  attempts?: number;
}

/** One queue job per crawl; the crawl's pages are worked through inside it, from the Postgres frontier. */
export function createCrawlQueue(opts: CrawlQueueOptions): Queue<CrawlJobData> {
  const defaultJobOptions: JobsOptions = {
    attempts: opts.attempts ?? 3,
    backoff: { type: "exponential", delay: 2000 },
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { age: 24 * 3600, count: 5000 },
  };
  return new Queue<CrawlJobData>(CRAWL_QUEUE, {
    connection: opts.connection,
    prefix: opts.prefix ?? "orbweaver",
    defaultJobOptions,
  });
}

/** How long an enqueue may wait for Redis before the caller is told the queue is unavailable. */
const ENQUEUE_TIMEOUT_MS = 5000;

/**
 * Dispatches a crawl; the BullMQ job id equals the crawl id so a re-dispatch of a live crawl is a
 * no-op. Fails fast when Redis is down (BullMQ's `add` would otherwise wait forever).
 */
export async function enqueueCrawlJob(queue: Queue<CrawlJobData>, crawlId: string): Promise<void> {
  const connection = queue.opts.connection as { status?: string };
  if (connection.status !== undefined && connection.status !== "ready" && connection.status !== "connect") {
    throw new QueueUnavailableError(`Redis connection is ${connection.status}`);
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QueueUnavailableError("Redis did not answer in time")), ENQUEUE_TIMEOUT_MS);
  });
  try {
    await Promise.race([queue.add("crawl", { crawlId }, { jobId: crawlId }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
