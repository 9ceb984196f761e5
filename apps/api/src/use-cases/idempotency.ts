import {
  findIdempotentJob,
  IDEMPOTENCY_WINDOW_SECONDS,
  recordIdempotentJob,
  type IdempotencyKeyRef,
} from "@orbweaver/db";
import type { FastifyRequest } from "fastify";
import type { ApiDeps } from "../deps.ts";
import { AppError } from "../errors.ts";

const PENDING = "pending";

/**
 * `Idempotency-Key` on a submit: the same key from the same account within 24 hours returns the
 * same job instead of creating another. Redis claims the key (a concurrent duplicate waits briefly
 * for the first to finish creating) and answers repeats; Postgres keeps a copy of each key's job, so
 * a key still holds after Redis lost its data (a flush, a restart without persistence). Without
 * Redis the key is checked in Postgres only (the submit then fails on dispatch anyway).
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
  const ref = { accountId: request.account.accountId, kind: opts.kind, key: idemKey };
  const redisKey = `${deps.config.queuePrefix}:idem:${ref.accountId}:${ref.kind}:${idemKey}`;

  let claimed: string | null;
  try {
    claimed = await deps.redis.set(redisKey, PENDING, "EX", 60, "NX");
  } catch {
    // Redis unreachable: Postgres still knows the keys it saw; a new job fails on dispatch (503).
    const known = await findIdempotentJob(deps.db, ref);
    return known ? opts.existing(known) : createAndRecord(deps, ref, opts.create);
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
    // Claimed in Redis: new to Redis, but Redis may have lost it since.
    const known = await findIdempotentJob(deps.db, ref);
    const result = known ? await opts.existing(known) : await createAndRecord(deps, ref, opts.create);
    await deps.redis.set(redisKey, result.id, "EX", IDEMPOTENCY_WINDOW_SECONDS).catch(() => undefined);
    return result;
  } catch (err) {
    await deps.redis.del(redisKey).catch(() => undefined);
    throw err;
  }
}

async function createAndRecord<T extends { id: string }>(
  deps: ApiDeps,
  ref: IdempotencyKeyRef,
  create: () => Promise<T>,
): Promise<T> {
  const created = await create();
  // The job exists and is queued: its answer must not turn into an error now (Redis holds the key too).
  await recordIdempotentJob(deps.db, { ...ref, jobId: created.id }).catch(() => undefined);
  return created;
}
