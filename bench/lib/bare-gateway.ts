// The baseline of B3, run as its own process like the real gateway: a bare Fastify app with two
// routes and nothing else (no auth, no Postgres, no credits, no rate limit).
//   POST /submit    parses the JSON body and enqueues a fresh id in BullMQ (the same enqueue helper
//                   and job options as the gateway), answers 202 {jobId}
//   GET  /poll/:id  reads one Redis key (holding a copy of a real poll answer) and returns it
// `node --import tsx bench/lib/bare-gateway.ts '{"redisUrl","prefix","port"}'`; prints "ready".
import { createRedisConnection, createScrapeQueue, enqueueScrapeJob } from "@orbweaver/queue";
import Fastify from "fastify";
import { randomUUID } from "node:crypto";

const { redisUrl, prefix, port } = JSON.parse(process.argv[2] ?? "{}") as {
  redisUrl: string;
  prefix: string;
  port: number;
};
const redis = createRedisConnection(redisUrl, "producer");
const queue = createScrapeQueue({ connection: redis, prefix });
const app = Fastify({ logger: false });

app.post("/submit", async (request, reply) => {
  const body = request.body as { urls?: unknown };
  if (!Array.isArray(body.urls) || body.urls.length === 0) return reply.code(400).send({ error: "urls" });
  const jobId = randomUUID();
  await enqueueScrapeJob(queue, jobId);
  return reply.code(202).send({ status: "queued", jobId });
});

app.get("/poll/:id", async (request, reply) => {
  const { id } = request.params as { id: string };
  const value = await redis.get(`${prefix}:result:${id}`);
  if (value === null) return reply.code(404).send({ error: "not found" });
  return reply.code(200).header("content-type", "application/json; charset=utf-8").send(value);
});

await app.listen({ port, host: "127.0.0.1" });
process.stdout.write("ready\n");
process.once("SIGTERM", () => {
  void app
    .close()
    .then(() => queue.close())
    .then(() => redis.quit())
    .finally(() => process.exit(0));
});
