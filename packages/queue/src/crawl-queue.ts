import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { addFailFast, defaultJobOptions } from "./add-fail-fast.ts";
import { watchQueueErrors } from "./close-queues.ts";

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
  return watchQueueErrors(
    new Queue<CrawlJobData>(CRAWL_QUEUE, {
      connection: opts.connection,
      prefix: opts.prefix ?? "orbweaver",
      defaultJobOptions: defaultJobOptions(opts.attempts),
    }),
  );
}

/** Dispatches a crawl; the BullMQ job id equals the crawl id so a re-dispatch of a live crawl is a no-op. */
export async function enqueueCrawlJob(queue: Queue<CrawlJobData>, crawlId: string): Promise<void> {
  await addFailFast(queue, { name: "crawl", data: { crawlId }, jobOptions: { jobId: crawlId } });
}
