// Shutting down while Redis is unreachable: BullMQ queues still initialising must not leave an
// unhandled rejection behind (it would end the process) when their connection ends.
import { afterEach, describe, expect, it } from "vitest";
import { closeQueuesAndConnection, createCrawlQueue, createRedisConnection, createScrapeQueue } from "../src/index.ts";

const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

afterEach(() => {
  process.off("unhandledRejection", onRejection);
});

describe("closeQueuesAndConnection", () => {
  it("closes queues that never reached Redis, mid-reconnect, without an unhandled rejection", async () => {
    process.on("unhandledRejection", onRejection);
    // Nothing listens on port 1: the queues keep initialising while the client reconnects.
    const redis = createRedisConnection("redis://127.0.0.1:1", "producer");
    const queues = [createScrapeQueue({ connection: redis }), createCrawlQueue({ connection: redis })];
    // The moment that used to fail: a connection attempt under way after one has failed.
    await new Promise((resolve) => redis.once("error", resolve));
    while (redis.status !== "connecting") await new Promise((r) => setImmediate(r));
    await closeQueuesAndConnection(redis, queues);
    await new Promise((r) => setTimeout(r, 300));
    expect(rejections).toEqual([]);
  });
});
