import type { FastifyRequest } from "fastify";
import type { ApiDeps } from "../deps.ts";
import { AppError } from "../errors.ts";

const TTL_SECONDS = 24 * 3600;
const PENDING = "pending";

/**
 * `Idempotency-Key` on a submit: the same key from the same account within 24 hours returns the
 * same job instead of creating another. A concurrent duplicate waits briefly for the first to finish
 * creating; without Redis the key is simply not honoured (the submit then fails on dispatch anyway).
 */
export async function withIdempotency<T extends { id: string }>(
  deps: ApiDeps,
  request: FastifyRequest,
  opts: { kind: string; create: () => Promise<T>; existing: (id: string) => Promise<T> },
): Promise<T> {
  const header = request.headers["idempotency-key"];
  const idemKey = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!idemKey) return opts.create();
  if (idemKey.length > 255) throw new AppError("VALIDATION_ERROR", "Idempotency-Key must be at most 255 characters");
  const redisKey = `${deps.config.queuePrefix}:idem:${request.account.accountId}:${opts.kind}:${idemKey}`;

  let claimed: string | null;
  try {
    claimed = await deps.redis.set(redisKey, PENDING, "EX", 60, "NX");
  } catch {
    // Redis unreachable: the key cannot be honoured, and the submit answers 503 when it dispatches.
    return opts.create();
  }
  if (claimed !== "OK") {
    for (let i = 0; i < 50; i += 1) {
      const value = await deps.redis.get(redisKey).catch(() => null);
      if (value && value !== PENDING) return opts.existing(value);
      if (value === null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new AppError("TOO_MANY_PENDING_JOBS", "A request with this Idempotency-Key is still being processed", {
      retryAfter: 1,
    });
  }
  try {
    const created = await opts.create();
    await deps.redis.set(redisKey, created.id, "EX", TTL_SECONDS).catch(() => undefined);
    return created;
  } catch (err) {
    await deps.redis.del(redisKey).catch(() => undefined);
    throw err;
  }
}
