import { findAccountByKey, hashApiKey, type Db, type KeyAccount } from "@orbweaver/db";
import { readKeyEpoch } from "@orbweaver/queue";
import type { Redis } from "ioredis";

/** Options for {@link createKeyCache}. */
export interface KeyCacheOptions {
  db: Db;
  redis: Redis;
  /** Queue prefix: the epoch lives at `<prefix>:auth:epoch`. */
  prefix: string;
  /** How long a lookup is kept at most. Default 30 s. */
  ttlMs?: number;
  /** Most keys kept; past it the cache starts over. Default 10,000. */
  maxEntries?: number;
}

export interface KeyCache {
  /**
   * The active key's account and limits, or null for an unknown or revoked key. `epoch`: the key
   * epoch when the caller already read it this request (null: Redis unreachable); read when omitted.
   * `hash`: the key's `hashApiKey`, when the caller already computed it.
   */
  lookup(key: string, epoch?: string | null, hash?: string): Promise<KeyAccount | null>;
  /**
   * True when the key authenticated through this cache before, under any epoch (no Postgres read).
   * A key change clears the cache, not this: it tells a key someone was given from one invented.
   */
  known(key: string): boolean;
}

/**
 * Key → account lookups kept in memory so a request does not cost a Postgres round trip. Each lookup
 * first reads the key epoch from Redis (one GET, or the rate limiter's read of it): a revoked key or changed limits replace it
 * (`announceKeyChange`), so every gateway stops using what it cached at its very next request. When
 * Redis cannot be read the cache is dropped and Postgres answers. Unknown keys are never cached, so
 * a key created a moment ago works at once.
 */
export function createKeyCache(opts: KeyCacheOptions): KeyCache {
  const ttlMs = opts.ttlMs ?? 30_000;
  const maxEntries = opts.maxEntries ?? 10_000;
  const entries = new Map<string, { account: KeyAccount; epoch: string; until: number }>();
  /** Hashes of keys that authenticated here (bounded like the cache). */
  const seenValid = new Set<string>();
  let seenEpoch: string | null = null;

  return {
    async lookup(key, known, keyHash) {
      const epoch = known !== undefined ? known : await readKeyEpoch(opts.redis, opts.prefix).catch(() => null);
      if (epoch !== seenEpoch) {
        entries.clear();
        seenEpoch = epoch;
      }
      const hash = keyHash ?? hashApiKey(key);
      const remember = (account: KeyAccount | null): KeyAccount | null => {
        if (account) {
          if (seenValid.size >= maxEntries * 10) seenValid.clear();
          seenValid.add(hash);
        }
        return account;
      };
      if (epoch === null) return remember(await findAccountByKey(opts.db, key));
      const hit = entries.get(hash);
      if (hit && hit.epoch === epoch && hit.until > Date.now()) return hit.account;
      const account = await findAccountByKey(opts.db, key);
      if (account) {
        if (entries.size >= maxEntries) entries.clear();
        entries.set(hash, { account, epoch, until: Date.now() + ttlMs });
      } else entries.delete(hash);
      return remember(account);
    },
    known(key) {
      return seenValid.has(hashApiKey(key));
    },
  };
}
