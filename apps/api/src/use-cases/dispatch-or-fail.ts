import { finishJob } from "@orbweaver/db";
import type { FastifyBaseLogger } from "fastify";
import type { ApiDeps } from "../deps.ts";
import { AppError } from "../errors.ts";

/**
 * Runs a dispatch; when the queue is unreachable the jobs that exist only in Postgres are settled as
 * failed (reservations refunded) and the client gets 503 SERVICE_BUSY instead of a job nobody runs.
 */
export async function dispatchOrFail(
  deps: ApiDeps,
  opts: { jobIds: string[]; log: FastifyBaseLogger; dispatch: () => Promise<unknown> },
): Promise<void> {
  try {
    await opts.dispatch();
  } catch (err) {
    opts.log.error({ err, jobIds: opts.jobIds }, "could not dispatch jobs");
    for (const jobId of opts.jobIds) {
      await finishJob(deps.db, {
        jobId,
        runToken: null,
        status: "failed",
        error: "The job could not be queued; the queue is unavailable.",
        creditsUsed: 0,
      }).catch(() => undefined);
    }
    throw new AppError("SERVICE_BUSY", "The job queue is unavailable; try again shortly.", { retryAfter: 60 });
  }
}
