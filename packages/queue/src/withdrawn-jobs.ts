import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { ScrapeJobData } from "./scrape-queue.ts";

/** How long a withdrawal is remembered: far longer than a worker waits for a job's row. */
const WITHDRAWN_TTL_MS = 10 * 60_000;

function withdrawnKey(prefix: string, jobId: string): string {
  return `${prefix}:withdrawn:${jobId}`;
}

/**
 * Takes back a scrape job that was dispatched while its row was being written, when the row was then
 * refused (credits, pending limit) or could not be written: removed from the queue or, when a worker
 * already holds it (BullMQ does not remove a locked job), marked so that the worker waiting for the
 * row stops at once. Rejects when Redis cannot answer.
 */
export async function withdrawScrapeJob(
  queue: Queue<ScrapeJobData>,
  opts: { redis: Redis; prefix: string; jobId: string },
): Promise<void> {
  if ((await queue.remove(opts.jobId)) === 1) return;
  await opts.redis.set(withdrawnKey(opts.prefix, opts.jobId), "1", "PX", WITHDRAWN_TTL_MS);
}

/** Whether the gateway withdrew this job (see {@link withdrawScrapeJob}). */
export async function isScrapeJobWithdrawn(redis: Redis, prefix: string, jobId: string): Promise<boolean> {
  return (await redis.exists(withdrawnKey(prefix, jobId))) === 1;
}
