import type { Queue } from "bullmq";
import type { Redis } from "ioredis";

/** How long a queue's initialisation may take to settle once its connection is gone. */
const SETTLE_MS = 1000;

/**
 * Closes queues that share `connection`, then the connection. While Redis is unreachable a BullMQ
 * queue keeps initialising; closing it then removes its listeners, and the initialisation that
 * fails when the connection ends has nobody to report to: an unhandled rejection at shutdown. So
 * when the connection is not ready it is ended first and each queue's initialisation allowed to
 * settle (its error goes to the queue's own listener, see {@link watchQueueErrors}) before the
 * queues close.
 */
export async function closeQueuesAndConnection(connection: Redis, queues: ReadonlyArray<Queue>): Promise<void> {
  if (connection.status !== "ready") {
    connection.disconnect();
    await Promise.all(
      queues.map((q) =>
        Promise.race([
          q.waitUntilReady().catch(() => undefined),
          new Promise((resolve) => setTimeout(resolve, SETTLE_MS).unref()),
        ]),
      ),
    );
  }
  await Promise.all(queues.map((q) => q.close().catch(() => undefined)));
  connection.disconnect();
}

/**
 * A queue re-emits its connection's errors; with no listener an `error` event throws (from inside
 * BullMQ's promise chain: an unhandled rejection). They surface on the commands that fail, as for
 * the connection itself (createRedisConnection).
 */
export function watchQueueErrors<Q extends Queue>(queue: Q): Q {
  queue.on("error", () => {});
  return queue;
}
