import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { keyEpochKey } from "@orbweaver/queue";
import { AppError } from "../errors.ts";
import { accountOfRequest, presentedKey } from "./auth.ts";

/**
 * One round trip and one command: opens the window on the first hit (SET NX PX; INCR keeps the
 * expiry), counts, and returns the window's time left and the key epoch.
 */
const COUNT_SCRIPT = `
redis.call("SET", KEYS[1], 0, "PX", ARGV[1], "NX")
local hits = redis.call("INCR", KEYS[1])
return { hits, redis.call("PTTL", KEYS[1]), redis.call("GET", KEYS[2]) }
`;

/**
 * Request-rate limit per API key (per client IP when no key is sent): a fixed window counted in
 * Redis so every gateway replica shares it, with `RateLimit-Limit/Remaining/Reset` (seconds) on
 * every answer and 429 RATE_LIMITED + `Retry-After` past the limit. The same Redis round trip reads
 * the key epoch, so the key lookup that follows (auth, and the account's own limit) costs nothing
 * more when cached. A Redis outage lets requests through rather than taking the API down.
 */
export default fp(
  async function rateLimitPlugin(app: FastifyInstance) {
    const { limits, queuePrefix } = app.deps.config;
    const { redis } = app.deps;
    const windowMs = limits.rateLimitWindowMs;
    const epochKey = keyEpochKey(queuePrefix);
    const sha = createHash("sha1").update(COUNT_SCRIPT).digest("hex");

    app.addHook("onRequest", async (request, reply) => {
      const key = presentedKey(request);
      const bucket = key ? `key:${createHash("sha256").update(key).digest("hex")}` : `ip:${request.ip}`;
      const counter = `${queuePrefix}:ratelimit:${bucket}`;
      let counted: { hits: number; ttlMs: number } | null = null;
      let epoch: string | null = null;
      try {
        const [hits, ttlMs, current] = (await redis
          .evalsha(sha, 2, counter, epochKey, windowMs)
          .catch(async (err: Error) => {
            if (!err.message.includes("NOSCRIPT")) throw err;
            return redis.eval(COUNT_SCRIPT, 2, counter, epochKey, windowMs);
          })) as [number, number, string | null];
        counted = { hits, ttlMs: Math.max(0, ttlMs) };
        epoch = current ?? "none";
      } catch {
        // Redis unreachable: no counting, and key lookups go to Postgres (epoch unknown).
      }
      const lookup = accountOfRequest(app, request, epoch);
      if (!counted) return;
      // Per-account override (`orbweaver accounts set-limits`), from the same lookup that authenticates.
      const account = await lookup?.catch(() => null);
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
