import type { FastifyInstance } from "fastify";
import { errorBody } from "../../errors.ts";

/** Liveness and readiness, outside the API prefix and without auth. */
export default async function healthRoutes(app: FastifyInstance) {
  app.get("/health", { schema: { hide: true } }, async () => ({ status: "ok" }));

  app.get("/ready", { schema: { hide: true } }, async (request, reply) => {
    // Each probe is bounded: an unreachable host (not just a refused port) must not hang the probe.
    const checks = await Promise.allSettled([
      withinMs(app.deps.pingDb(), 2000, "postgres"),
      withinMs(app.deps.redis.ping(), 2000, "redis"),
    ]);
    const [db, redis] = checks.map((c) => (c.status === "fulfilled" ? "ok" : "unavailable"));
    if (db === "ok" && redis === "ok") return { status: "ready", postgres: db, redis };
    request.log.warn({ postgres: db, redis }, "not ready");
    return reply.status(503).send({ ...errorBody("Not ready"), postgres: db, redis });
  });
}

function withinMs<T>(probe: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    probe,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} ping timed out`)), ms).unref()),
  ]);
}
