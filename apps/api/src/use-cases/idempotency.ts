import { createHmac } from "node:crypto";
import {
  findIdempotentJob,
  IDEMPOTENCY_WINDOW_SECONDS,
  recordIdempotentJob,
  type IdempotencyKeyRef,
} from "@orbweaver/db";
import type { FastifyRequest } from "fastify";
import { stringify } from "safe-stable-stringify";
import type { ApiDeps } from "../deps.ts";
import { AppError } from "../errors.ts";

const PENDING = "pending";
/** How long a concurrent duplicate waits for the first request to finish before a 429. */
const WAIT_FOR_FIRST_MS = 5_000;

/**
 * `Idempotency-Key` on a submit: the same key from the same account within 24 hours returns the
 * same job instead of creating another — for the same request. The key is bound to a hash of the
 * request body (keys in any order, as validated), so the same key with a different body is refused
 * with 422 `IDEMPOTENCY_KEY_REUSED` instead of answering with a job that is not what was asked for.
 * Redis claims the key (a concurrent duplicate waits for the first to finish creating; if the
 * first fails, the duplicate takes the key over and makes its own attempt) and answers repeats;
 * Postgres keeps a copy of each key's job, so a key still holds after Redis lost its data (a flush,
 * a restart without persistence). Without Redis the key is checked in Postgres only (the submit
 * then fails on dispatch anyway).
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
  const requestHash = hashRequest(deps.secret, request.body);
  const redisKey = `${deps.config.queuePrefix}:idem:${ref.accountId}:${ref.kind}:${idemKey}`;
  const claim = () => deps.redis.set(redisKey, slot(PENDING, requestHash), "EX", 60, "NX");

  let claimed: string | null;
  try {
    claimed = await claim();
  } catch {
    // Redis unreachable: Postgres still knows the keys it saw; a new job fails on dispatch (503).
    const known = await findIdempotentJob(deps.db, ref);
    if (known) checkSameRequest(known.requestHash, requestHash);
    return known ? opts.existing(known.jobId) : createAndRecord(deps, { ...ref, requestHash }, opts.create);
  }
  const deadline = Date.now() + WAIT_FOR_FIRST_MS;
  while (claimed !== "OK") {
    const value = await deps.redis.get(redisKey).catch(() => null);
    if (value !== null) {
      const held = parseSlot(value);
      checkSameRequest(held.hash, requestHash);
      if (held.state !== PENDING) return opts.existing(held.state);
    }
    if (Date.now() >= deadline) {
      throw new AppError("TOO_MANY_PENDING_JOBS", "A request with this Idempotency-Key is still being processed", {
        retryAfter: 1,
      });
    }
    if (value === null) {
      // The first request failed and let the key go (or it expired): this one tries in its place.
      claimed = await claim().catch(() => null);
      if (claimed === "OK") break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    // Claimed in Redis: new to Redis, but Redis may have lost it since.
    const known = await findIdempotentJob(deps.db, ref);
    if (known) checkSameRequest(known.requestHash, requestHash);
    const result = known
      ? await opts.existing(known.jobId)
      : await createAndRecord(deps, { ...ref, requestHash }, opts.create);
    const boundTo = known ? known.requestHash : requestHash;
    await deps.redis.set(redisKey, slot(result.id, boundTo), "EX", IDEMPOTENCY_WINDOW_SECONDS).catch(() => undefined);
    return result;
  } catch (err) {
    await deps.redis.del(redisKey).catch(() => undefined);
    throw err;
  }
}

/**
 * HMAC-SHA256 of the request body with its keys sorted (the same request however its JSON is laid
 * out), keyed with the instance secret: the stored hash cannot be used to guess the cookies a body
 * carried (cookies are never stored).
 */
function hashRequest(secret: string, body: unknown): string {
  return createHmac("sha256", secret)
    .update(stringify(body ?? null) ?? "null")
    .digest("hex");
}

/** Redis value of a key: `<pending | job id>:<request hash>`; an empty hash binds no request. */
function slot(state: string, hash: string | null): string {
  return `${state}:${hash ?? ""}`;
}

/** Also reads values written before keys were bound to a request (`pending` or a bare job id). */
function parseSlot(value: string): { state: string; hash: string | null } {
  const at = value.indexOf(":");
  if (at < 0) return { state: value, hash: null };
  return { state: value.slice(0, at), hash: value.slice(at + 1) || null };
}

function checkSameRequest(boundTo: string | null, requestHash: string): void {
  if (boundTo === null || boundTo === requestHash) return;
  const message =
    "This Idempotency-Key was already used with a different request body; send a new key for a different request";
  throw new AppError("IDEMPOTENCY_KEY_REUSED", message, { errors: [message] });
}

async function createAndRecord<T extends { id: string }>(
  deps: ApiDeps,
  ref: IdempotencyKeyRef & { requestHash: string },
  create: () => Promise<T>,
): Promise<T> {
  const created = await create();
  // The job exists and is queued: its answer must not turn into an error now (Redis holds the key too).
  await recordIdempotentJob(deps.db, { ...ref, jobId: created.id }).catch(() => undefined);
  return created;
}
