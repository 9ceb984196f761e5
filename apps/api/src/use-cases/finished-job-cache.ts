import type { FastifyReply } from "fastify";

/** Options for {@link createFinishedJobCache}. */
export interface FinishedJobCacheOptions {
  /** How long an answer is served from memory. Default 60 s (signed links in it stay valid ~1 h). */
  ttlMs?: number;
  /** Bytes of answers kept at most; the oldest go first. Default 32 MiB. */
  maxBytes?: number;
}

export interface FinishedJobCache {
  /** The serialized answer for this job and account, or undefined. */
  get(jobId: string, accountId: string): string | undefined;
  /** Keeps the answer for the cache's time, or until `expiresAt` (epoch ms) when that comes first. */
  set(jobId: string, accountId: string, json: string, expiresAt?: number): void;
}

/**
 * Poll answers of finished jobs, which never change, kept as the bytes sent, so clients polling a
 * job after it finished cost neither Postgres nor serialization. Keyed by job and owner: another
 * account's request never gets an entry (it misses and the database answers 404 as before).
 */
export function createFinishedJobCache(opts: FinishedJobCacheOptions = {}): FinishedJobCache {
  const ttlMs = opts.ttlMs ?? 60_000;
  const maxBytes = opts.maxBytes ?? 32 * 1024 * 1024;
  const entries = new Map<string, { accountId: string; json: string; until: number }>();
  let bytes = 0;
  const drop = (jobId: string): void => {
    const old = entries.get(jobId);
    if (!old) return;
    bytes -= old.json.length;
    entries.delete(jobId);
  };
  return {
    get(jobId, accountId) {
      const hit = entries.get(jobId);
      if (!hit) return undefined;
      if (hit.until <= Date.now()) {
        drop(jobId);
        return undefined;
      }
      return hit.accountId === accountId ? hit.json : undefined;
    },
    set(jobId, accountId, json, expiresAt) {
      if (json.length > maxBytes / 4) return;
      drop(jobId);
      // Maps iterate in insertion order: the first keys are the oldest.
      for (const oldest of entries.keys()) {
        if (bytes + json.length <= maxBytes) break;
        drop(oldest);
      }
      entries.set(jobId, { accountId, json, until: Math.min(Date.now() + ttlMs, expiresAt ?? Infinity) });
      bytes += json.length;
    },
  };
}

/** Sends JSON that is already serialized (by the route's own response serializer), as it is. */
export function sendSerialized(reply: { type(t: string): unknown }, json: string): FastifyReply {
  return (reply as FastifyReply).type("application/json; charset=utf-8").send(json);
}
