// The rate limiter's shared Redis round trip (apps/api/src/use-cases/rate-counter.ts): requests of
// one turn of the event loop are counted by one script call, each still gets its own count in
// arrival order with its window's time left, the key epoch and its IP's unknown-key count; a
// Redis that cannot answer rejects them all at once (the plugin then lets them through).
import { Redis } from "ioredis";
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createRateCounter } from "../../api/src/use-cases/rate-counter.ts";

const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = `test-rate-${randomUUID().slice(0, 8)}`;
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe("createRateCounter", () => {
  it("counts a burst of one turn in one command, each request with its own count in order", async () => {
    const counter = createRateCounter({ redis, epochKey: `${prefix}:epoch`, windowMs: 60_000 });
    await redis.set(`${prefix}:epoch`, "7");
    await redis.set(`${prefix}:bad:1.2.3.4`, "3", "PX", 30_000);
    const evalsha = vi.spyOn(redis, "evalsha");
    const counts = await Promise.all([
      ...Array.from({ length: 12 }, () => counter.count(`${prefix}:a`, `${prefix}:bad:1.2.3.4`)),
      counter.count(`${prefix}:b`, `${prefix}:bad:5.6.7.8`),
    ]);
    expect(evalsha).toHaveBeenCalledTimes(1);
    evalsha.mockRestore();
    expect(counts.slice(0, 12).map((c) => c.hits)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(counts[12]).toMatchObject({ hits: 1, epoch: "7", badHits: 0 });
    for (const c of counts.slice(0, 12)) {
      expect(c.epoch).toBe("7");
      expect(c.badHits).toBe(3);
      expect(c.badTtlMs).toBeGreaterThan(25_000);
      expect(c.ttlMs).toBeGreaterThan(55_000);
      expect(c.ttlMs).toBeLessThanOrEqual(60_000);
    }
    // The window keeps counting across turns and expires with its first hit.
    const next = await counter.count(`${prefix}:a`, `${prefix}:bad:1.2.3.4`);
    expect(next.hits).toBe(13);
    expect(await redis.pttl(`${prefix}:a`)).toBeGreaterThan(0);
  });

  it("reads a key epoch that was never set as none", async () => {
    const counter = createRateCounter({ redis, epochKey: `${prefix}:no-epoch`, windowMs: 1000 });
    expect(await counter.count(`${prefix}:c`, `${prefix}:bad:c`)).toMatchObject({ hits: 1, epoch: "none" });
  });

  it("rejects every request of the turn when Redis cannot answer", async () => {
    const down = new Redis("redis://127.0.0.1:1", {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    const counter = createRateCounter({ redis: down, epochKey: `${prefix}:epoch`, windowMs: 1000 });
    const results = await Promise.allSettled([
      counter.count(`${prefix}:d`, `${prefix}:bad:d`),
      counter.count(`${prefix}:e`, `${prefix}:bad:e`),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    down.disconnect();
  });
});
