import type { JobsOptions, Queue } from "bullmq";

export class QueueUnavailableError extends Error {
  override name = "QueueUnavailableError";
}

/** How long an enqueue may wait for Redis before the caller is told the queue is unavailable. */
const ENQUEUE_TIMEOUT_MS = 5000;

/**
 * Retries with backoff; Postgres keeps results, so Redis keeps only enough to dedupe recent deliveries.
 * Shared by every queue of the catalog.
 */
export function defaultJobOptions(attempts = 3): JobsOptions {
  return {
    attempts,
    backoff: { type: "exponential", delay: 2000 },
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { age: 24 * 3600, count: 5000 },
  };
}

/** One job for {@link addFailFast}. */
export interface JobToAdd<T> {
  name: string;
  data: T;
  jobOptions: JobsOptions;
}

/**
 * `queue.add` that fails fast when Redis is down: BullMQ's own `add` waits for the connection
 * forever, and a gateway must answer 503 instead of hanging.
 */
export async function addFailFast<T>(queue: Queue<T>, job: JobToAdd<T>): Promise<void> {
  await addBulkFailFast(queue, [job]);
}

/**
 * Several jobs in one round trip to Redis (BullMQ's `addBulk`: one pipelined MULTI), with the same
 * fail-fast rules as {@link addFailFast}; a single job uses `add`.
 */
export async function addBulkFailFast<T>(queue: Queue<T>, jobs: ReadonlyArray<JobToAdd<T>>): Promise<void> {
  if (jobs.length === 0) return;
  const connection = queue.opts.connection as { status?: string };
  if (connection.status !== undefined && connection.status !== "ready" && connection.status !== "connect") {
    throw new QueueUnavailableError(`Redis connection is ${connection.status}`);
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QueueUnavailableError("Redis did not answer in time")), ENQUEUE_TIMEOUT_MS);
  });
  // BullMQ's generic signatures do not accept a plain T name/data pair; the cast keeps callers typed.
  const untyped = queue as unknown as Queue;
  const [only] = jobs;
  const adding =
    jobs.length === 1 && only
      ? untyped.add(only.name, only.data, only.jobOptions)
      : untyped.addBulk(jobs.map((j) => ({ name: j.name, data: j.data, opts: j.jobOptions })));
  // When the timeout wins, BullMQ's promise may still reject later: that must not go unhandled.
  adding.catch(() => undefined);
  try {
    await Promise.race([adding, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
