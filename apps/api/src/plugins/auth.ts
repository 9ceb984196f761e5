import { hashApiKey, type KeyAccount } from "@orbweaver/db";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { AppError } from "../errors.ts";

/** The presented key: `x-api-key` wins over `Authorization: Bearer` (contract §2). */
export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers["x-api-key"];
  const xKey = (Array.isArray(header) ? header[0] : header)?.trim();
  if (xKey) return xKey;
  const auth = request.headers.authorization?.trim();
  const match = auth ? /^Bearer\s+(.+)$/i.exec(auth) : null;
  return match?.[1]?.trim() || undefined;
}

const keyHashes = new WeakMap<FastifyRequest, string>();

/** The presented key's `hashApiKey` (the rate limiter's bucket, the key cache's entry), hashed once per request. */
export function presentedKeyHash(request: FastifyRequest): string | undefined {
  const key = presentedKey(request);
  if (!key) return undefined;
  let hash = keyHashes.get(request);
  if (!hash) {
    hash = hashApiKey(key);
    keyHashes.set(request, hash);
  }
  return hash;
}

const lookups = new WeakMap<FastifyRequest, Promise<KeyAccount | null>>();

/**
 * The presented key's account (null: unknown or revoked; undefined: no key), looked up once per
 * request. The rate limiter starts it with the key epoch it read from Redis in its own round trip
 * (null: Redis unreachable, so Postgres answers).
 */
export function accountOfRequest(
  app: FastifyInstance,
  request: FastifyRequest,
  epoch?: string | null,
): Promise<KeyAccount | null> | undefined {
  const key = presentedKey(request);
  if (!key) return undefined;
  let lookup = lookups.get(request);
  if (!lookup) {
    lookup = app.keyCache.lookup(key, epoch, presentedKeyHash(request));
    lookups.set(request, lookup);
  }
  return lookup;
}

/** Authenticates every route of the encapsulating context; missing key → 401, unknown → 403 (D2). */
export default fp(
  async function auth(app: FastifyInstance) {
    app.decorateRequest("account", null as unknown as FastifyRequest["account"]);
    app.addHook("onRequest", async (request) => {
      const lookup = accountOfRequest(app, request);
      if (!lookup) throw new AppError("UNAUTHENTICATED", "API key is required");
      const account = await lookup;
      if (!account) {
        const status = app.deps.config.limits.invalidKeyStatus;
        throw new AppError(status === 401 ? "UNAUTHENTICATED" : "INVALID_API_KEY", "Invalid token or API key");
      }
      request.account = account;
    });
  },
  { name: "auth" },
);
