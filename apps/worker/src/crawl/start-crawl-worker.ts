import {
  closeQueuesAndConnection,
  createCrawlQueue,
  createRedisConnection,
  CRAWL_QUEUE,
  type CrawlJobData,
} from "@orbweaver/queue";
import { Worker, type Queue } from "bullmq";
import type { WorkerContext } from "../worker-context.ts";
import { announceCrawlFailure } from "./announce-crawl-failure.ts";
import { processCrawlJob } from "./process-crawl-job.ts";

/** The crawl consumer of a worker process, and a producer handle on the crawl queue (for the reconciler). */
export interface CrawlWorker {
  worker: Worker<CrawlJobData>;
  queue: Queue<CrawlJobData>;
  /**
   * Stops running crawls from claiming pages (they go back to the queue, resumable by any worker),
   * then closes the consumer once the pages in flight are done (or handed back: see WorkerContext.cutShort).
   */
  close(): Promise<void>;
  /** Releases the Redis connections (after close). */
  disconnect(): Promise<void>;
  /** Sends `crawl.failed` for a crawl failed outside its attempts (the reconciler giving it up). */
  announceFailure(crawlId: string, error: string): Promise<void>;
}

/**
 * The BullMQ consumer of crawls, beside the scrape one and sharing its browser, egress proxy,
 * Markdown threads, model and blob store; it has its own Redis connections.
 */
export function startCrawlWorker(ctx: WorkerContext): CrawlWorker {
  const { config } = ctx;
  const connection = createRedisConnection(config.redisUrl, "worker");
  const producer = createRedisConnection(config.redisUrl, "worker");
  const queue = createCrawlQueue({ connection: producer, prefix: config.queuePrefix, attempts: config.jobs.attempts });
  let stopping = false;
  const worker = new Worker<CrawlJobData>(
    CRAWL_QUEUE,
    (job, token) => processCrawlJob(ctx, job, { ...(token ? { token } : {}), stopping: () => stopping }),
    {
      connection,
      prefix: config.queuePrefix,
      concurrency: config.crawl.concurrency,
      lockDuration: config.jobs.lockMs,
      stalledInterval: config.jobs.stalledIntervalMs,
      maxStalledCount: 2,
    },
  );
  worker.on("error", (err) => ctx.log.warn({ err }, "crawl worker connection error"));
  return {
    worker,
    queue,
    close: async () => {
      stopping = true;
      await worker.close();
    },
    disconnect: async () => {
      await closeQueuesAndConnection(producer, [queue]);
      connection.disconnect();
    },
    announceFailure: (crawlId, error) =>
      announceCrawlFailure({ db: ctx.db, policy: config.network, log: ctx.log }, { crawlId, error }),
  };
}
