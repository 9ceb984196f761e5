import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";

/**
 * Gateways cache key → account lookups. Every change that must reach them at once (a key revoked,
 * an account's limits changed) replaces this Redis value; a gateway reads it on every request and
 * drops its cached lookups when it differs from the one they were made under. A random value, not a
 * counter, so a flushed Redis that counts again can never bring back an old epoch.
 */
export function keyEpochKey(prefix: string): string {
  return `${prefix}:auth:epoch`;
}

/** Tells every gateway that keys or account limits changed. */
export async function announceKeyChange(redis: Redis, prefix: string): Promise<void> {
  await redis.set(keyEpochKey(prefix), randomUUID());
}

/** The current epoch; "none" when it was never set or Redis was flushed. Throws when Redis is unreachable. */
export async function readKeyEpoch(redis: Redis, prefix: string): Promise<string> {
  return (await redis.get(keyEpochKey(prefix))) ?? "none";
}
