import { claimBatchDispatch, type Db } from "@orbweaver/db";
import type { Queue } from "bullmq";
import { enqueueScrapeJob, type ScrapeJobData } from "./scrape-queue.ts";

/**
 * Hands the next items of a batch to the queue, keeping at most `concurrency` of them in flight.
 * Called at submit and retry, whenever an item finishes, and by the reconciler; an item whose
 * enqueue fails stays claimed and is re-dispatched by the reconciler.
 */
export async function dispatchBatch(
  db: Db,
  queue: Queue<ScrapeJobData>,
  opts: { batchId: string; concurrency: number },
): Promise<number> {
  const jobIds = await claimBatchDispatch(db, opts);
  // Started together, so they reach Redis in one round trip (see enqueueScrapeJob).
  await Promise.all(jobIds.map((jobId) => enqueueScrapeJob(queue, jobId, { batchItem: true })));
  return jobIds.length;
}
