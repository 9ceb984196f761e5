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

/**
 * `queue.add` that fails fast when Redis is down: BullMQ's own `add` waits for the connection
 * forever, and a gateway must answer 503 instead of hanging.
 */
export async function addFailFast<T>(
  queue: Queue<T>,
  opts: { name: string; data: T; jobOptions: JobsOptions },
): Promise<void> {
  const connection = queue.opts.connection as { status?: string };
  if (connection.status !== undefined && connection.status !== "ready" && connection.status !== "connect") {
    throw new QueueUnavailableError(`Redis connection is ${connection.status}`);
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QueueUnavailableError("Redis did not answer in time")), ENQUEUE_TIMEOUT_MS);
  });
  try {
    // BullMQ's generic add signature does not accept a plain T name/data pair; the cast keeps callers typed.
    await Promise.race([(queue as unknown as Queue).add(opts.name, opts.data, opts.jobOptions), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
