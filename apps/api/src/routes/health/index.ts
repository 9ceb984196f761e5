import type { FastifyInstance } from "fastify";
import { errorBody } from "../../errors.ts";

/** Liveness and readiness, outside the API prefix and without auth. */
export default async function healthRoutes(app: FastifyInstance) {
  app.get("/health", { schema: { hide: true } }, async () => ({ status: "ok" }));

  app.get("/ready", { schema: { hide: true } }, async (request, reply) => {
    const checks = await Promise.allSettled([
      app.deps.pingDb(),
      Promise.race([
        app.deps.redis.ping(),
        new Promise((_, reject) => setTimeout(() => reject(new Error("redis ping timed out")), 2000).unref()),
      ]),
    ]);
    const [db, redis] = checks.map((c) => (c.status === "fulfilled" ? "ok" : "unavailable"));
    if (db === "ok" && redis === "ok") return { status: "ready", postgres: db, redis };
    request.log.warn({ postgres: db, redis }, "not ready");
    return reply.status(503).send({ ...errorBody("Not ready"), postgres: db, redis });
  });
}
