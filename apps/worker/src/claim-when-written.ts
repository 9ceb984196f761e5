import { getJob, startJobAttempt, UNFINISHED, type JobRow } from "@orbweaver/db";
import type { Job } from "bullmq";
import { setTimeout as sleep } from "node:timers/promises";
import type { WorkerContext } from "./worker-context.ts";

/** How long after its dispatch a job's row may still be on its way. */
export const ROW_WAIT_MS = 10_000;

/**
 * Claims a scrape job's row for this attempt. The gateway dispatches a single scrape while it writes
 * the row (the 202 waits for both), so a worker can take the job before the row is visible. Until the
 * job is {@link ROW_WAIT_MS} old the claim is tried again, after 2, 4, 8 … 250 ms. It ends with null
 * when the row is finished (an earlier delivery ran it), when the gateway withdrew the job (the
 * submit was refused or its row could not be written), or at the limit (a gateway that died
 * mid-submit; a row written later still is dispatched again by the reconciler).
 */
export async function claimWhenWritten(ctx: WorkerContext, bullJob: Job<{ jobId: string }>): Promise<JobRow | null> {
  const { jobId } = bullJob.data;
  for (let delayMs = 2; ; delayMs = Math.min(delayMs * 2, 250)) {
    const claimed = await startJobAttempt(ctx.db, jobId);
    if (claimed) return claimed;
    const row = await getJob(ctx.db, jobId);
    if (row && !(UNFINISHED as readonly string[]).includes(row.status)) return null;
    // Committed between the claim and this read: claim it now.
    if (row) continue;
    if (await ctx.isWithdrawn(jobId)) return null;
    if (Date.now() - bullJob.timestamp > ROW_WAIT_MS) {
      ctx.log.warn({ jobId }, "a dispatched job's row never appeared; dropped");
      return null;
    }
    await sleep(delayMs);
  }
}
