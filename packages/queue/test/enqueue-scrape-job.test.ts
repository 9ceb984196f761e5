// enqueueScrapeJob: ids asked for in the same turn go to Redis together (one addBulk), each caller
// gets its own answer, batch items keep their priority, and a queue whose Redis is down refuses
// them all at once instead of hanging.
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import {
  BATCH_ITEM_PRIORITY,
  createRedisConnection,
  createScrapeQueue,
  enqueueScrapeJob,
  QueueUnavailableError,
} from "../src/index.ts";

const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = `test-enqueue-${randomUUID().slice(0, 8)}`;
const connection = createRedisConnection(redisUrl, "producer");
const queue = createScrapeQueue({ connection, prefix });

afterAll(async () => {
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  connection.disconnect();
});

describe("enqueueScrapeJob", () => {
  it("queues every id asked for in one turn, with batch items behind single scrapes", async () => {
    const singles = Array.from({ length: 5 }, () => randomUUID());
    const items = Array.from({ length: 3 }, () => randomUUID());
    await Promise.all([
      ...singles.map((id) => enqueueScrapeJob(queue, id)),
      ...items.map((id) => enqueueScrapeJob(queue, id, { batchItem: true })),
    ]);
    for (const id of singles) {
      const job = await queue.getJob(id);
      expect(job?.data).toEqual({ jobId: id });
      expect(job?.opts.priority ?? 0).toBe(0);
      expect(job?.opts.attempts).toBe(3);
    }
    for (const id of items) expect((await queue.getJob(id))?.opts.priority).toBe(BATCH_ITEM_PRIORITY);
    expect(await queue.getJobCountByTypes("waiting", "prioritized")).toBe(8);
    // The same id again (a re-dispatch of a live job) adds nothing.
    await Promise.all([enqueueScrapeJob(queue, singles[0] as string), enqueueScrapeJob(queue, randomUUID())]);
    expect(await queue.getJobCountByTypes("waiting", "prioritized")).toBe(9);
  });

  it("refuses every id of the turn when Redis is unreachable", async () => {
    const down = createRedisConnection("redis://127.0.0.1:1", "producer");
    const dead = createScrapeQueue({ connection: down, prefix });
    try {
      await new Promise((r) => setTimeout(r, 100));
      const answers = await Promise.allSettled([
        enqueueScrapeJob(dead, randomUUID()),
        enqueueScrapeJob(dead, randomUUID()),
      ]);
      expect(answers.map((a) => a.status)).toEqual(["rejected", "rejected"]);
      for (const a of answers) expect((a as PromiseRejectedResult).reason).toBeInstanceOf(QueueUnavailableError);
    } finally {
      await dead.close().catch(() => undefined);
      down.disconnect();
    }
  });
});
