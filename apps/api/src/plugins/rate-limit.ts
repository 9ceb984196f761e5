import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { keyEpochKey } from "@orbweaver/queue";
import { AppError } from "../errors.ts";
import { createRateCounter } from "../use-cases/rate-counter.ts";
import { accountOfRequest, presentedKey, presentedKeyHash } from "./auth.ts";

/** Counts one unknown key sent from an IP (the window opens on the first). */
const BAD_KEY_SCRIPT = `
redis.call("SET", KEYS[1], 0, "PX", ARGV[1], "NX")
return redis.call("INCR", KEYS[1])
`;

/**
 * Request-rate limit per API key (per client IP when no key is sent): a fixed window counted in
 * Redis so every gateway replica shares it, with `RateLimit-Limit/Remaining/Reset` (seconds) on
 * every answer and 429 RATE_LIMITED + `Retry-After` past the limit. One Redis round trip counts
 * every request of the same turn of the event loop (`createRateCounter`) and reads the key epoch,
 * so the key lookup that follows (auth, and the account's own limit) costs nothing more when
 * cached. A Redis outage lets requests through rather than taking the API down.
 *
 * Keys that are not known are also counted per client IP (in the same window): a client inventing
 * a new key for every request would otherwise have a fresh budget each time, and each request a
 * Postgres lookup. Past the limit, that IP's requests get 429 until its window ends, unless their key
 * is one that authenticated through this gateway before (revoked since or not: that lookup decides).
 */
export default fp(
  async function rateLimitPlugin(app: FastifyInstance) {
    const { limits, queuePrefix } = app.deps.config;
    const { redis } = app.deps;
    const windowMs = limits.rateLimitWindowMs;
    const counter = createRateCounter({ redis, epochKey: keyEpochKey(queuePrefix), windowMs });

    app.addHook("onRequest", async (request, reply) => {
      const key = presentedKey(request);
      const bucket = key ? `key:${presentedKeyHash(request)}` : `ip:${request.ip}`;
      const counterKey = `${queuePrefix}:ratelimit:${bucket}`;
      const badKeys = `${queuePrefix}:ratelimit:badkeys:${request.ip}`;
      // null: Redis unreachable, so no counting, and key lookups go to Postgres (epoch unknown).
      const counted = await counter.count(counterKey, badKeys).catch(() => null);
      if (key && counted && counted.badHits >= limits.rateLimitMax && !app.keyCache.known(key)) {
        const resetSeconds = Math.max(1, Math.ceil(counted.badTtlMs / 1000));
        void reply.header("ratelimit-limit", String(limits.rateLimitMax));
        void reply.header("ratelimit-remaining", "0");
        void reply.header("ratelimit-reset", String(resetSeconds));
        throw new AppError("RATE_LIMITED", "Too many requests, please try again later.", { retryAfter: resetSeconds });
      }
      const lookup = accountOfRequest(app, request, counted ? counted.epoch : null);
      if (!counted) return;
      // Per-account override (`orbweaver accounts set-limits`), from the same lookup that authenticates.
      const account = await lookup?.catch(() => undefined);
      if (account === null) {
        // An unknown key (auth answers 403 next): counted against the IP, without holding the answer.
        void redis.eval(BAD_KEY_SCRIPT, 1, badKeys, windowMs).catch(() => undefined);
      }
      const max = account?.limits.rateLimitMax ?? limits.rateLimitMax;
      const resetSeconds = Math.max(1, Math.ceil(counted.ttlMs / 1000));
      void reply.header("ratelimit-limit", String(max));
      void reply.header("ratelimit-remaining", String(Math.max(0, max - counted.hits)));
      void reply.header("ratelimit-reset", String(resetSeconds));
      if (counted.hits > max) {
        throw new AppError("RATE_LIMITED", "Too many requests, please try again later.", { retryAfter: resetSeconds });
      }
    });
  },
  { name: "rate-limit" },
);
