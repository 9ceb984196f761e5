import type { BlobStore } from "@orbweaver/storage";
import type { Redis } from "ioredis";
import type { Logger } from "pino";

/** Options for {@link startBlobSweeper}. */
export interface BlobSweeperOptions {
  blobs: BlobStore;
  redis: Redis;
  log: Logger;
  /** Files last written longer ago than this are deleted (BLOB_RETENTION_MS, > 0). */
  maxAgeMs: number;
  /** How often a sweep runs across all workers (BLOB_SWEEP_INTERVAL_MS). */
  intervalMs: number;
  /** The Redis key that lets one worker sweep per interval. */
  lockKey: string;
}

/**
 * Deletes screenshots and crawled page files past their retention. Every worker ticks once per
 * interval (and once at start), and a tick sweeps only where it takes `lockKey`, which lives one
 * interval: about one sweep per interval however many workers run. A result or crawl page keeps its
 * link to a deleted file, which then answers 404.
 */
export function startBlobSweeper(opts: BlobSweeperOptions): { stop(): void; runOnce(): Promise<number | null> } {
  const runOnce = async (): Promise<number | null> => {
    const taken = await opts.redis.set(opts.lockKey, String(process.pid), "PX", opts.intervalMs, "NX");
    if (taken !== "OK") return null;
    const started = Date.now();
    const deleted = await opts.blobs.deleteOlderThan(new Date(started - opts.maxAgeMs));
    if (deleted > 0) {
      opts.log.info({ deleted, ms: Date.now() - started }, "deleted stored files past their retention");
    }
    return deleted;
  };
  let inFlight = false;
  let stopped = false;
  const tick = () => {
    if (inFlight) return;
    inFlight = true;
    runOnce()
      // A sweep cut short by shutdown (its store closed) is not worth a warning; the next one resumes.
      .catch((err: unknown) => stopped || opts.log.warn({ err }, "retention sweep of stored files failed"))
      .finally(() => (inFlight = false));
  };
  const first = setTimeout(tick, 0);
  const timer = setInterval(tick, opts.intervalMs);
  first.unref();
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
    },
    runOnce,
  };
}
