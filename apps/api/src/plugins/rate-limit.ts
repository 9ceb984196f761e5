import { createHash } from "node:crypto";
import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { AppError } from "../errors.ts";
import { presentedKey } from "./auth.ts";

/**
 * Request-rate limit per API key (per client IP when no key is sent), counted in Redis so every
 * gateway replica shares it. Sends `RateLimit-Limit/Remaining/Reset` (seconds) on every response.
 */
export default fp(
  async function rateLimitPlugin(app: FastifyInstance) {
    const { limits, queuePrefix } = app.deps.config;
    await app.register(rateLimit, {
      global: true,
      max: limits.rateLimitMax,
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
