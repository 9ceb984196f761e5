import { revokeApiKey, setAccountLimits } from "@orbweaver/db";
import { announceKeyChange, createRedisConnection } from "@orbweaver/queue";
import type { Redis } from "ioredis";
import { startFixtureSite, type FixtureSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onOrigin } from "./helpers/crawl.ts";
import { call, pollScrape, type PollBody } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

/*
 * Poll answers of finished single scrapes are kept in memory as the bytes sent (they never change).
 *
 * The gateway keeps key → account lookups in memory (30 s at most) and drops them whenever the key
 * epoch in Redis changes; `orbweaver keys revoke` and `accounts set-limits` change it. A change made
 * in Postgres by hand reaches the gateway when the epoch changes or the 30 s pass (README).
 */

let stack: TestStack;
let redis: Redis;
let site: FixtureSite;

beforeAll(async () => {
  site = await startFixtureSite();
  stack = await startTestStack();
  redis = createRedisConnection(stack.config.redisUrl, "worker");
});
afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
  await site?.close();
});

const logs = (key: string) => call(`${stack.api}/scrape-logs`, { key });

describe("key lookups cached by the gateway", () => {
  it("serve a key revoked by hand in Postgres until the change is announced, then refuse it at once", async () => {
    const k = await stack.createKey(10);
    expect((await logs(k.key)).status).toBe(200);
    await revokeApiKey(stack.db, { key: k.key });
    // Cached: the hand-made change has not been announced yet.
    expect((await logs(k.key)).status).toBe(200);
    await announceKeyChange(redis, stack.config.queuePrefix);
    expect((await logs(k.key)).status).toBe(stack.config.limits.invalidKeyStatus);
  });

  it("drop every cached key when Redis loses the epoch (a flush), so nothing stale survives it", async () => {
    const k = await stack.createKey(10);
    await announceKeyChange(redis, stack.config.queuePrefix);
    expect((await logs(k.key)).status).toBe(200);
    await revokeApiKey(stack.db, { key: k.key });
    await redis.del(`${stack.config.queuePrefix}:auth:epoch`);
    expect((await logs(k.key)).status).toBe(stack.config.limits.invalidKeyStatus);
  });

  it("apply an account's new rate limit at the next request once announced", async () => {
    const k = await stack.createKey(10);
    const first = await logs(k.key);
    expect(first.headers.get("ratelimit-limit")).toBe(String(stack.config.limits.rateLimitMax));
    await setAccountLimits(stack.db, { accountId: k.accountId, limits: { rateLimitMax: 7 } });
    await announceKeyChange(redis, stack.config.queuePrefix);
    expect((await logs(k.key)).headers.get("ratelimit-limit")).toBe("7");
  });

  it("accept a key created after its account was looked up as unknown", async () => {
    expect((await logs("spd_not_yet_created_key_value")).status).toBe(stack.config.limits.invalidKeyStatus);
    const k = await stack.createKey(10);
    expect((await logs(k.key)).status).toBe(200);
  });
});

describe("poll answers of finished jobs", () => {
  it("are the same bytes on every poll, keep working screenshot links, and stay the owner's", async () => {
    const owner = await stack.createKey(100);
    const other = await stack.createKey(100);
    const submitted = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key: owner.key,
      body: { urls: [{ url: site.url("/product/1") }], screenshot: true },
    });
    expect(submitted.status).toBe(202);
    const { jobId } = submitted.body;
    const { final, seen } = await pollScrape(stack.api, owner.key, jobId);
    // Polls before the end saw the job move (unfinished answers are never frozen).
    expect(seen.at(-1)).toBe("completed");
    expect(seen.length).toBeGreaterThan(1);
    const raw = async (key: string) => {
      const res = await fetch(`${stack.api}/scrape/${jobId}`, { headers: { "x-api-key": key } });
      return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
    };
    const again = await raw(owner.key);
    const third = await raw(owner.key);
    expect(again.status).toBe(200);
    expect(again.type).toBe("application/json; charset=utf-8");
    expect(third.text).toBe(again.text);
    const body = JSON.parse(again.text) as PollBody;
    expect(body).toEqual(final);
    const shot = body.result!.data[0]!.screenshotUrl!;
    const png = await fetch(onOrigin(stack.origin, shot));
    expect(png.status).toBe(200);
    expect(png.headers.get("content-type")).toBe("image/png");
    // Another account never gets it, before or after the owner's polls filled the cache.
    const foreign = await call<{ message: string }>(`${stack.api}/scrape/${jobId}`, { key: other.key });
    expect(foreign.status).toBe(404);
    expect(foreign.body.message).toBe("Scrape job not found");
  });
});
