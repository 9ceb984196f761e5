import { findAccountByKey } from "@orbweaver/db";
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

/** Authenticates every route of the encapsulating context; missing key → 401, unknown → 403 (D2). */
export default fp(
  async function auth(app: FastifyInstance) {
    app.decorateRequest("account", null as unknown as FastifyRequest["account"]);
    app.addHook("onRequest", async (request) => {
      const key = presentedKey(request);
      if (!key) throw new AppError("UNAUTHENTICATED", "API key is required");
      const account = await findAccountByKey(app.deps.db, key);
      if (!account) {
        const status = app.deps.config.limits.invalidKeyStatus;
        throw new AppError(status === 401 ? "UNAUTHENTICATED" : "INVALID_API_KEY", "Invalid token or API key");
      }
      request.account = account;
    });
  },
  { name: "auth" },
);
