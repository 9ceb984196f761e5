import { createHash } from "node:crypto";
import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { getAccountLimitsByKey, type Db } from "@orbweaver/db";
import { AppError } from "../errors.ts";
import { presentedKey } from "./auth.ts";

const CACHE_MS = 10_000;
const cache = new Map<string, { value: number | null; until: number }>();

async function accountRateLimit(db: Db, key: string): Promise<number | null> {
  const hit = cache.get(key);
  if (hit && hit.until > Date.now()) return hit.value;
  const value = (await getAccountLimitsByKey(db, key).catch(() => null))?.rateLimitMax ?? null;
  if (cache.size > 10_000) cache.clear();
  cache.set(key, { value, until: Date.now() + CACHE_MS });
  return value;
}

/**
 * Request-rate limit per API key (per client IP when no key is sent), counted in Redis so every
 * gateway replica shares it. Sends `RateLimit-Limit/Remaining/Reset` (seconds) on every response.
 */
export default fp(
  async function rateLimitPlugin(app: FastifyInstance) {
    const { limits, queuePrefix } = app.deps.config;
    await app.register(rateLimit, {
      global: true,
      // Per-account override (`orbweaver accounts set-limits`), looked up by key and cached briefly.
      max: async (request) => {
        const key = presentedKey(request);
        if (!key) return limits.rateLimitMax;
        return (await accountRateLimit(app.deps.db, key)) ?? limits.rateLimitMax;
      },
      timeWindow: limits.rateLimitWindowMs,
      redis: app.deps.redis,
      nameSpace: `${queuePrefix}:ratelimit:`,
      // A Redis outage must not take the API down with it.
      skipOnError: true,
      enableDraftSpec: true,
      keyGenerator: (request) => {
        const key = presentedKey(request);
        return key ? `key:${createHash("sha256").update(key).digest("hex")}` : `ip:${request.ip}`;
      },
      errorResponseBuilder: (_request, context) =>
        new AppError("RATE_LIMITED", "Too many requests, please try again later.", {
          retryAfter: Math.max(1, Math.ceil(context.ttl / 1000)),
        }),
    });
  },
  { name: "rate-limit" },
);
