export { createRedisConnection } from "./redis-connection.ts";
export { createScrapeQueue, enqueueScrapeJob, SCRAPE_QUEUE } from "./scrape-queue.ts";
export type { ScrapeJobData, ScrapeQueueOptions } from "./scrape-queue.ts";
