export { createRedisConnection } from "./redis-connection.ts";
export { createScrapeQueue, enqueueScrapeJob, SCRAPE_QUEUE, BATCH_ITEM_PRIORITY } from "./scrape-queue.ts";
export type { ScrapeJobData, ScrapeQueueOptions } from "./scrape-queue.ts";
export { dispatchBatch } from "./dispatch-batch.ts";
export { createJobSecretsStore } from "./job-secrets.ts";
export type { JobSecretsStore } from "./job-secrets.ts";
export { createCrawlQueue, enqueueCrawlJob, CRAWL_QUEUE } from "./crawl-queue.ts";
export type { CrawlJobData, CrawlQueueOptions } from "./crawl-queue.ts";
export { QueueUnavailableError } from "./add-fail-fast.ts";
