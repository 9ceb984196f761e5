import { Redis } from "ioredis";

/**
 * Producers (the gateway) fail fast so a request never hangs on a Redis outage: no offline queue,
 * one retry per command. Workers block on Redis and must never give up (BullMQ requires
 * `maxRetriesPerRequest: null` for them).
 */
export function createRedisConnection(url: string, role: "producer" | "worker"): Redis {
  const redis = new Redis(
    url,
    role === "producer"
      ? { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 3000, lazyConnect: false }
      : { maxRetriesPerRequest: null, enableReadyCheck: false },
  );
  // Errors surface on the commands that fail; an unhandled 'error' event would crash the process.
  redis.on("error", () => {});
  return redis;
}
