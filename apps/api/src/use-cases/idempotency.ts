import { createHmac } from "node:crypto";
import {
  findIdempotentJob,
  forgetIdempotentJob,
  IDEMPOTENCY_WINDOW_SECONDS,
  type IdempotencyEntry,
  type IdempotencyKeyRef,
} from "@orbweaver/db";
import type { FastifyRequest } from "fastify";
import { stringify } from "safe-stable-stringify";
import type { ApiDeps } from "../deps.ts";
import { AppError } from "../errors.ts";

const PENDING = "pending";
/** How long a concurrent duplicate waits for the first request to finish before a 429. */
const WAIT_FOR_FIRST_MS = 5_000;

/** A keyed submit route: how it creates a job (recording the key given, if any) and finds one by id. */
interface IdempotentSubmit<T> {
  kind: string;
  /** Creates the job; `idempotency` (absent without a key) is recorded in the job's own transaction. */
  create: (idempotency?: IdempotencyEntry) => Promise<T>;
  existing: (id: string) => Promise<T>;
}

/**
 * `Idempotency-Key` on a submit: the same key from the same account within 24 hours returns the
 * same job instead of creating another — for the same request. The key is bound to a hash of the
 * request body (keys in any order, as validated), so the same key with a different body is refused
 * with 422 `IDEMPOTENCY_KEY_REUSED` instead of answering with a job that is not what was asked for.
 * Redis claims the key (a concurrent duplicate waits for the first to finish creating; if the
 * first fails, the duplicate takes the key over and makes its own attempt) and answers repeats;
 * Postgres keeps a copy of each key's job, so a key still holds after Redis lost its data (a flush,
 * a restart without persistence). That copy is written by `create`, in the transaction that creates
 * the job: a job that committed holds its key even when its answer was lost (the connection to
 * Postgres dropped after the commit), so the retry gets that job rather than a second one. Without
 * Redis the key is checked in Postgres only (the submit then fails on dispatch anyway).
 */
export async function withIdempotency<T extends { id: string }>(
  deps: ApiDeps,
  request: FastifyRequest,
  opts: IdempotentSubmit<T>,
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
    return (await existingOrCreate(deps, { ...ref, requestHash }, opts)).result;
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
    const { result, boundTo } = await existingOrCreate(deps, { ...ref, requestHash }, opts);
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

/**
 * The job Postgres holds for the key (refused with 422 when the key is bound to another request),
 * or a new one created with the key recorded in its transaction. `boundTo` is the request hash the
 * key holds.
 */
async function existingOrCreate<T extends { id: string }>(
  deps: ApiDeps,
  entry: IdempotencyKeyRef & IdempotencyEntry,
  opts: IdempotentSubmit<T>,
): Promise<{ result: T; boundTo: string | null }> {
  const known = await findIdempotentJob(deps.db, entry);
  if (known) {
    checkSameRequest(known.requestHash, entry.requestHash);
    return { result: await opts.existing(known.jobId), boundTo: known.requestHash };
  }
  try {
    const result = await opts.create({ kind: entry.kind, key: entry.key, requestHash: entry.requestHash });
    return { result, boundTo: entry.requestHash };
  } catch (err) {
    // A decided refusal (an AppError): no job was written, or the one written was settled as failed
    // because the queue was unreachable, and the client is told to try again. The key must not hand
    // that failed job to the retry. Any other error (the answer from Postgres lost) keeps the key:
    // the job may have been committed with it.
    if (err instanceof AppError) await forgetIdempotentJob(deps.db, entry).catch(() => undefined);
    throw err;
  }
}
