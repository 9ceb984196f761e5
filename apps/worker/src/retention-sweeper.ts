import { pruneFinishedWork, type Db, type PrunedWork } from "@orbweaver/db";
import type { BlobStore } from "@orbweaver/storage";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { everyInterval } from "./every-interval.ts";

/** Options for {@link startRetentionSweeper}; at least one of `files` and `work` is set. */
export interface RetentionSweeperOptions {
  /** Stored files (screenshots, crawled pages) last written longer ago than `maxAgeMs` are deleted (BLOB_RETENTION_MS). */
  files?: { blobs: BlobStore; maxAgeMs: number };
  /** Work finished longer ago than `maxAgeMs` is deleted (JOB_RETENTION_MS; see pruneFinishedWork). */
  work?: { db: Db; maxAgeMs: number };
  redis: Redis;
  log: Logger;
  /** How often a sweep runs across all workers (RETENTION_SWEEP_INTERVAL_MS). */
  intervalMs: number;
  /** The Redis key that lets one worker sweep per interval. */
  lockKey: string;
}

/** What one sweep deleted: stored files, and finished scrapes, batches and crawls. */
export interface SweepResult extends PrunedWork {
  files: number;
}

/**
 * Deletes what is past its retention. Every worker ticks once per interval (and once at start), and
 * a tick sweeps only where it takes `lockKey`, which lives one interval: about one sweep per interval
 * however many workers run. Finished work goes first, then files; a result or crawl page whose file
 * is gone keeps its link, which then answers 404.
 */
export function startRetentionSweeper(opts: RetentionSweeperOptions): {
  stop(): void;
  runOnce(): Promise<SweepResult | null>;
} {
  const runOnce = async (): Promise<SweepResult | null> => {
    const taken = await opts.redis.set(opts.lockKey, String(process.pid), "PX", opts.intervalMs, "NX");
    if (taken !== "OK") return null;
    const started = Date.now();
    const work = opts.work
      ? await pruneFinishedWork(opts.work.db, { before: new Date(started - opts.work.maxAgeMs) })
      : { scrapes: 0, batches: 0, crawls: 0 };
    const files = opts.files ? await opts.files.blobs.deleteOlderThan(new Date(started - opts.files.maxAgeMs)) : 0;
    const result = { ...work, files };
    if (files + work.scrapes + work.batches + work.crawls > 0) {
      opts.log.info({ ...result, ms: Date.now() - started }, "deleted what was past its retention");
    }
    return result;
  };
  let stopped = false;
  const stopTimers = everyInterval(runOnce, {
    intervalMs: opts.intervalMs,
    immediately: true,
    // A sweep cut short by shutdown (its store or pool closed) is not worth a warning; the next one resumes.
    onError: (err) => stopped || opts.log.warn({ err }, "retention sweep failed"),
  });
  return {
    stop: () => {
      stopped = true;
      stopTimers();
    },
    runOnce,
  };
}
