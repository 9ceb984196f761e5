import { Redis } from "ioredis";
import { getBalance, revokeApiKey, setAccountLimits } from "@orbweaver/db";
import { announceKeyChange, createRedisConnection, createScrapeQueue } from "@orbweaver/queue";
import { startFixtureSite, type FixtureSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "./helpers/http.ts";
import { runCli } from "./helpers/spawn.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
beforeAll(async () => {
  site = await startFixtureSite();
});
afterAll(async () => {
  await site?.close();
});

type Envelope = { status: string; message: string; error: string; code?: string; retry_after?: number };

describe("limits without a worker (jobs stay pending)", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ worker: false, env: { RATE_LIMIT_MAX: "6", MAX_PENDING_SCRAPE_JOBS: "3" } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("limits the request rate per key with RateLimit headers and a 429 envelope", async () => {
    const { key } = await stack.createKey(100);
    const other = await stack.createKey(100);
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof call<Envelope>>> | undefined;
    for (let i = 0; i < 8; i += 1) {
      last = await call<Envelope>(`${stack.api}/scrape/00000000-0000-0000-0000-000000000000`, { key });
      statuses.push(last.status);
      if (i === 0) {
        expect(last.headers.get("ratelimit-limit")).toBe("6");
        expect(last.headers.get("ratelimit-remaining")).toBe("5");
        expect(Number(last.headers.get("ratelimit-reset"))).toBeGreaterThan(0);
      }
    }
    expect(statuses).toEqual([404, 404, 404, 404, 404, 404, 429, 429]);
    expect(last!.body.status).toBe("error");
    expect(last!.body.message).toBe("Too many requests, please try again later.");
    expect(last!.body.error).toBe(last!.body.message);
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
    // Another key has its own budget.
    expect((await call(`${stack.api}/scrape/00000000-0000-0000-0000-000000000000`, { key: other.key })).status).toBe(
      404,
    );
  });

  it("counts every request of a concurrent burst on its own: exactly the limit passes", async () => {
    const { key } = await stack.createKey(100);
    const answers = await Promise.all(
      Array.from({ length: 9 }, () =>
        call<Envelope>(`${stack.api}/scrape/00000000-0000-0000-0000-000000000000`, { key }),
      ),
    );
    const passed = answers.filter((a) => a.status === 404);
    expect(passed).toHaveLength(6);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(3);
    expect(passed.map((a) => Number(a.headers.get("ratelimit-remaining"))).sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("refuses a fourth pending job with 429 TOO_MANY_PENDING_JOBS", async () => {
    const { key } = await stack.createKey(100);
    const body = { urls: [{ url: site.url("/") }] };
    for (let i = 0; i < 3; i += 1) expect((await call(`${stack.api}/scrape`, { key, body })).status).toBe(202);
    const refused = await call<Envelope>(`${stack.api}/scrape`, { key, body });
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe("TOO_MANY_PENDING_JOBS");
    expect(refused.body.error).toBe(refused.body.message);
  });

  it("answers 403 when the balance cannot cover the URLs, and charges nothing", async () => {
    const { key, accountId } = await stack.createKey(3);
    const twoUrls = { urls: [{ url: site.url("/") }, { url: site.url("/news") }] };
    const refused = await call<Envelope>(`${stack.api}/scrape`, { key, body: twoUrls });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toMatch(/credit/i);
    expect(await getBalance(stack.db, accountId)).toBe(3);
    expect((await call(`${stack.api}/scrape`, { key, body: { urls: [{ url: site.url("/") }] } })).status).toBe(202);
  });
});

describe("credits race", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ worker: false, env: { MAX_PENDING_SCRAPE_JOBS: "100" } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** Ids of the scrape jobs in the queue: a refused submit must leave none behind (it was dispatched beside its row's write). */
  async function queuedJobIds(): Promise<string[]> {
    const connection = createRedisConnection(stack.config.redisUrl, "producer");
    const queue = createScrapeQueue({ connection, prefix: stack.config.queuePrefix });
    try {
      const jobs = await queue.getJobs(["waiting", "prioritized", "delayed", "active", "completed", "failed"]);
      return jobs.map((j) => j.id ?? "").sort();
    } finally {
      await queue.close();
      connection.disconnect();
    }
  }

  it("accepts exactly what 10 credits cover out of 50 concurrent submits; the balance never goes negative", async () => {
    const { key, accountId } = await stack.createKey(10);
    const body = { urls: [{ url: site.url("/") }] };
    const results = await Promise.all(Array.from({ length: 50 }, () => call(`${stack.api}/scrape`, { key, body })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(5);
    expect(statuses.filter((s) => s === 403)).toHaveLength(45);
    const accepted = results.filter((r) => r.status === 202).map((r) => (r.body as { jobId: string }).jobId);
    expect(await queuedJobIds()).toEqual(accepted.sort());
    expect(await getBalance(stack.db, accountId)).toBe(0);
    const ledger = await stack.pool.query(
      "select sum(delta)::float as total, count(*)::int as n from credit_ledger where account_id = $1",
      [accountId],
    );
    expect(ledger.rows[0]).toEqual({ total: 0, n: 6 });
  });

  it("accepts exactly the pending-job limit out of 60 concurrent submits, with one job row and one charge each", async () => {
    const { key, accountId } = await stack.createKey(1000);
    await runCli(["accounts", "set-limits", "--account", accountId, "--pending-scrapes", "7"], stack.env);
    const queuedBefore = await queuedJobIds();
    const body = { urls: [{ url: site.url("/") }, { url: site.url("/?b") }] };
    const results = await Promise.all(
      Array.from({ length: 60 }, () => call<{ jobId?: string; code?: string }>(`${stack.api}/scrape`, { key, body })),
    );
    const accepted = results.filter((r) => r.status === 202);
    expect(accepted).toHaveLength(7);
    expect(results.filter((r) => r.status === 429 && r.body.code === "TOO_MANY_PENDING_JOBS")).toHaveLength(53);
    const rows = await stack.pool.query<{ id: string }>("select id from jobs where account_id = $1", [accountId]);
    expect(rows.rows.map((r) => r.id).sort()).toEqual(accepted.map((r) => r.body.jobId).sort());
    expect(await queuedJobIds()).toEqual([...queuedBefore, ...accepted.map((r) => r.body.jobId ?? "")].sort());
    const ledger = await stack.pool.query(
      "select count(distinct job_id)::int as jobs, count(*)::int as n from credit_ledger where account_id = $1 and reason = 'reserve'",
      [accountId],
    );
    expect(ledger.rows[0]).toEqual({ jobs: 7, n: 7 });
    expect(await getBalance(stack.db, accountId)).toBe(1000 - 7 * 4);
  });

  it("keeps every account's limits exact when many accounts submit at once", async () => {
    // Five accounts, 12 concurrent submits each, interleaved: pending limit 3 each, and the last
    // account's balance covers only 2 jobs (2 credits per URL).
    const accounts = await Promise.all([50, 50, 50, 50, 4].map((credits) => stack.createKey(credits)));
    // Set in Postgres before the gateway has seen these keys (nothing cached to announce to).
    for (const a of accounts)
      await setAccountLimits(stack.db, { accountId: a.accountId, limits: { maxPendingScrapeJobs: 3 } });
    const body = { urls: [{ url: site.url("/") }] };
    const submits = Array.from({ length: 12 }, () => accounts).flat();
    const results = await Promise.all(
      submits.map((a) => call<{ jobId?: string; code?: string }>(`${stack.api}/scrape`, { key: a.key, body })),
    );
    for (const [n, a] of accounts.entries()) {
      const mine = results.filter((_, i) => submits[i] === a);
      const expected = n === 4 ? 2 : 3;
      expect(
        mine.filter((r) => r.status === 202),
        `account ${n}`,
      ).toHaveLength(expected);
      const rows = await stack.pool.query("select count(*)::int as n from jobs where account_id = $1", [a.accountId]);
      expect(rows.rows[0].n).toBe(expected);
      expect(await getBalance(stack.db, a.accountId)).toBe((n === 4 ? 4 : 50) - 2 * expected);
    }
  });
});

describe("queue outage", () => {
  let stack: TestStack;
  beforeAll(async () => {
    // Nothing listens on port 1: every Redis command fails at once.
    stack = await startTestStack({ worker: false, env: { REDIS_URL: "redis://127.0.0.1:1" } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("answers 503 SERVICE_BUSY with retry_after, refunds the reservation and reports not ready", async () => {
    const { key, accountId } = await stack.createKey(10);
    const res = await call<Envelope>(`${stack.api}/scrape`, { key, body: { urls: [{ url: site.url("/") }] } });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: "error", code: "SERVICE_BUSY", retry_after: 60 });
    expect(res.headers.get("retry-after")).toBe("60");
    expect(await getBalance(stack.db, accountId)).toBe(10);
    const batch = await call<Envelope>(`${stack.api}/batch/scrape`, { key, body: { urls: [site.url("/")] } });
    expect(batch.status).toBe(503);
    expect(await getBalance(stack.db, accountId)).toBe(10);
    const jobs = await stack.pool.query("select status from jobs where account_id = $1", [accountId]);
    expect(jobs.rows.map((r: { status: string }) => r.status)).toEqual(["failed", "failed"]);
    expect((await call(`${stack.origin}/ready`)).status).toBe(503);
  });
});

describe("Idempotency-Key", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ worker: false, env: { MAX_PENDING_SCRAPE_JOBS: "50" } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("returns the same job for the same key, also under concurrency, and charges once", async () => {
    const { key, accountId } = await stack.createKey(100);
    const body = { urls: [{ url: site.url("/") }] };
    const headers = { "idempotency-key": "order-42" };
    const results = await Promise.all(
      Array.from({ length: 5 }, () => call<{ jobId: string }>(`${stack.api}/scrape`, { key, body, headers })),
    );
    expect(results.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    expect(new Set(results.map((r) => r.body.jobId)).size).toBe(1);
    const again = await call<{ jobId: string }>(`${stack.api}/scrape`, { key, body, headers });
    expect(again.body.jobId).toBe(results[0]!.body.jobId);
    const other = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      body,
      headers: { "idempotency-key": "order-43" },
    });
    expect(other.body.jobId).not.toBe(results[0]!.body.jobId);
    expect(await getBalance(stack.db, accountId)).toBe(96);

    const stranger = await stack.createKey(10);
    const theirs = await call<{ jobId: string }>(`${stack.api}/scrape`, { key: stranger.key, body, headers });
    expect(theirs.body.jobId).not.toBe(results[0]!.body.jobId);

    const batchHeaders = { "idempotency-key": "batch-1" };
    const b1 = await call<{ batchId: string; total: number }>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: [site.url("/")] },
      headers: batchHeaders,
    });
    const b2 = await call<{ batchId: string; total: number }>(`${stack.api}/batch/scrape`, {
      key,
      body: { urls: [site.url("/")] },
      headers: batchHeaders,
    });
    expect(b2.body).toMatchObject({ batchId: b1.body.batchId, total: 1 });
  });

  it("refuses the same key with a different request (422 IDEMPOTENCY_KEY_REUSED), also after Redis lost it; the same body in another key order is the same request", async () => {
    const { key, accountId } = await stack.createKey(100);
    const headers = { "idempotency-key": "reused-key" };
    const first = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      headers,
      body: { urls: [{ url: site.url("/") }], output: "markdown" },
    });
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    const reordered = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      headers,
      body: { output: "markdown", urls: [{ url: site.url("/") }] },
    });
    expect(reordered.status, JSON.stringify(reordered.body)).toBe(202);
    expect(reordered.body.jobId).toBe(first.body.jobId);

    const jobsOf = async () =>
      (await stack.pool.query("select id from jobs where account_id = $1", [accountId])).rows.map((r) => r.id);
    const changed = async () =>
      call<Envelope & { errors?: string[] }>(`${stack.api}/scrape`, {
        key,
        headers,
        body: { urls: [{ url: site.url("/news") }], output: "markdown" },
      });
    const refused = await changed();
    expect(refused.status, JSON.stringify(refused.body)).toBe(422);
    expect(refused.body).toMatchObject({ status: "error", code: "IDEMPOTENCY_KEY_REUSED" });
    expect(refused.body.message).toMatch(/Idempotency-Key .*different request/);
    expect(refused.body.errors).toEqual([refused.body.message]);
    expect(await jobsOf()).toEqual([first.body.jobId]);
    const charged = await getBalance(stack.db, accountId);
    expect(charged).toBeLessThan(100);

    // Redis forgets the key: Postgres still knows which request it was bound to.
    const redis = new Redis(stack.config.redisUrl, { maxRetriesPerRequest: 1 });
    try {
      await redis.del(...(await redis.keys(`${stack.config.queuePrefix}:idem:${accountId}:*`)));
    } finally {
      redis.disconnect();
    }
    expect((await changed()).status).toBe(422);
    const same = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      headers,
      body: { urls: [{ url: site.url("/") }], output: "markdown" },
    });
    expect(same.body.jobId).toBe(first.body.jobId);
    expect((await changed()).status).toBe(422);

    // Concurrent duplicates with another body are refused too, not held or given the first job.
    const batchHeaders = { "idempotency-key": "batch-reused" };
    const batches = await Promise.all(
      [["/"], ["/"], ["/news"], ["/"]].map((paths) =>
        call<{ batchId?: string; code?: string }>(`${stack.api}/batch/scrape`, {
          key,
          headers: batchHeaders,
          body: { urls: paths.map((path) => site.url(path)) },
        }),
      ),
    );
    const ids = batches.filter((b) => b.status === 202).map((b) => b.body.batchId);
    // Whichever body came first owns the key; the other one is refused.
    const statuses = batches.map((b) => b.status);
    const otherBodyOwns = statuses[2] === 202;
    expect(statuses).toEqual(otherBodyOwns ? [422, 422, 202, 422] : [202, 202, 422, 202]);
    expect(batches.find((b) => b.status === 422)!.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(new Set(ids).size).toBe(1);
    // One job and one batch of one page charged, nothing for the refused requests.
    expect(await getBalance(stack.db, accountId)).toBe(100 - 2 * (100 - charged!));
  });

  it("a duplicate of a request that failed makes its own attempt instead of a 429", async () => {
    const { key, accountId } = await stack.createKey(0);
    const headers = { "idempotency-key": "no-credits" };
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        call<Envelope>(`${stack.api}/scrape`, { key, headers, body: { urls: [{ url: site.url("/") }] } }),
      ),
    );
    // Each gets what the request itself gets (403: no credits), none a 429 for a key no job holds.
    expect(answers.map((a) => a.status)).toEqual([403, 403, 403, 403, 403, 403]);
    expect(answers[0]!.body.message).toMatch(/credit/i);
    await stack.pool.query("update accounts set credits_balance = 5 where id = $1", [accountId]);
    const paid = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      headers,
      body: { urls: [{ url: site.url("/") }] },
    });
    expect(paid.status, JSON.stringify(paid.body)).toBe(202);
    expect(await getBalance(stack.db, accountId)).toBeLessThan(5);
  });

  it("still returns the same job after Redis lost its keys (flush, restart), for scrapes, batches and crawls; not past 24 hours", async () => {
    const { key, accountId } = await stack.createKey(1000);
    const headers = { "idempotency-key": "survives-flush" };
    const submits = {
      scrape: () =>
        call<{ jobId: string }>(`${stack.api}/scrape`, { key, headers, body: { urls: [{ url: site.url("/") }] } }),
      batch: () =>
        call<{ batchId: string }>(`${stack.api}/batch/scrape`, { key, headers, body: { urls: [site.url("/")] } }),
      crawl: () =>
        call<{ jobId: string }>(`${stack.api}/crawl`, { key, headers, body: { baseUrl: site.url("/"), maxPages: 1 } }),
    };
    const idOf = (r: { body: { jobId?: string; batchId?: string } }) => r.body.jobId ?? r.body.batchId;
    const first: Record<string, string | undefined> = {};
    for (const [kind, submit] of Object.entries(submits)) {
      const res = await submit();
      expect(res.status, `${kind}: ${JSON.stringify(res.body)}`).toBe(202);
      first[kind] = idOf(res);
    }
    const balance = await getBalance(stack.db, accountId);
    // Redis forgets every key of this account (what a FLUSHALL does to them).
    const redis = new Redis(stack.config.redisUrl, { maxRetriesPerRequest: 1 });
    try {
      const pattern = `${stack.config.queuePrefix}:idem:${accountId}:*`;
      const keys = await redis.keys(pattern);
      expect(keys).toHaveLength(3);
      await redis.del(...keys);
      for (const [kind, submit] of Object.entries(submits)) {
        const res = await submit();
        expect(res.status, kind).toBe(202);
        expect(idOf(res), kind).toBe(first[kind]);
      }
      expect(await getBalance(stack.db, accountId)).toBe(balance);
      // Redis has them again.
      expect(await redis.keys(pattern)).toHaveLength(3);

      // Past the 24 hours the key is free again: a new job (and the old record is taken over).
      await redis.del(...(await redis.keys(pattern)));
      await stack.pool.query(
        "update idempotency_keys set created_at = now() - interval '25 hours' where account_id = $1",
        [accountId],
      );
      const later = await submits.scrape();
      expect(later.status).toBe(202);
      expect(later.body.jobId).not.toBe(first.scrape);
      const rows = await stack.pool.query<{ kind: string; job_id: string }>(
        "select kind, job_id from idempotency_keys where account_id = $1 and created_at > now() - interval '1 hour'",
        [accountId],
      );
      expect(rows.rows).toEqual([{ kind: "scrape", job_id: later.body.jobId }]);
    } finally {
      redis.disconnect();
    }
  });
});

describe("per-account limits from the CLI", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ worker: false });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("overrides the rate and pending-job limits of one account only, and clears them with default", async () => {
    const limited = await stack.createKey(100);
    const other = await stack.createKey(100);
    const set = await runCli(
      ["accounts", "set-limits", "--account", limited.accountId, "--rate-limit", "4", "--pending-scrapes", "1"],
      stack.env,
    );
    expect(set.code, set.output).toBe(0);
    expect(JSON.parse(set.stdout.trim())).toMatchObject({
      rateLimitMax: 4,
      maxPendingScrapeJobs: 1,
      maxPendingBatches: null,
    });

    const body = { urls: [{ url: site.url("/") }] };
    expect((await call(`${stack.api}/scrape`, { key: limited.key, body })).status).toBe(202);
    const pending = await call<Envelope>(`${stack.api}/scrape`, { key: limited.key, body });
    expect(pending.status).toBe(429);
    expect(pending.body.code).toBe("TOO_MANY_PENDING_JOBS");
    expect((await call(`${stack.api}/scrape`, { key: other.key, body })).status).toBe(202);
    expect((await call(`${stack.api}/scrape`, { key: other.key, body })).status).toBe(202);

    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await call(`${stack.api}/scrape/nope`, { key: limited.key })).status);
    expect(statuses).toEqual([404, 404, 429]);
    expect((await call(`${stack.api}/scrape/nope`, { key: other.key })).status).toBe(404);

    const cleared = await runCli(
      ["accounts", "set-limits", "--account", limited.accountId, "--pending-scrapes", "default"],
      stack.env,
    );
    expect(JSON.parse(cleared.stdout.trim())).toMatchObject({ rateLimitMax: 4, maxPendingScrapeJobs: null });
    const bad = await runCli(
      ["accounts", "set-limits", "--account", limited.accountId, "--rate-limit", "-3"],
      stack.env,
    );
    expect(bad.code).toBe(64);
  });
});

describe("unknown keys counted per client IP", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ worker: false, env: { RATE_LIMIT_MAX: "5", RATE_LIMIT_WINDOW_MS: "4000" } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("a client inventing a key per request gets 429 past the limit; keys that worked before still do; the window ends it", async () => {
    const known = await stack.createKey(10);
    const known2 = await stack.createKey(10);
    const fresh = await stack.createKey(10);
    const probe = (key: string) => call<Envelope>(`${stack.api}/scrape/00000000-0000-0000-0000-000000000000`, { key });
    // Keys in use before the flood (cached by the gateway).
    expect((await probe(known.key)).status).toBe(404);
    expect((await probe(known2.key)).status).toBe(404);
    const invented = () => `spd_${crypto.randomUUID()}`;
    const statuses: number[] = [];
    for (let i = 0; i < 7; i += 1) statuses.push((await probe(invented())).status);
    // Each new key had a budget of its own before; now the IP's unknown keys share one.
    expect(statuses).toEqual([403, 403, 403, 403, 403, 429, 429]);
    const refused = await probe(invented());
    expect(refused.body).toMatchObject({ status: "error", message: "Too many requests, please try again later." });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(refused.headers.get("ratelimit-remaining")).toBe("0");
    // A key that authenticated here before is still served, also once a key change has emptied the
    // gateway's cache (another key revoked); one never seen waits for the window.
    expect((await probe(known.key)).status).toBe(404);
    const other = await stack.createKey(10);
    await revokeApiKey(stack.db, { key: other.key });
    const redis = new Redis(stack.config.redisUrl);
    try {
      await announceKeyChange(redis, stack.config.queuePrefix);
    } finally {
      redis.disconnect();
    }
    // The first lookup under the new epoch empties the cache.
    expect((await probe(known2.key)).status).toBe(404);
    expect((await probe(known.key)).status).toBe(404);
    expect((await probe(fresh.key)).status).toBe(429);
    // No key at all is the IP's ordinary budget: still a 401.
    expect((await call(`${stack.api}/scrape/00000000-0000-0000-0000-000000000000`)).status).toBe(401);

    await new Promise((resolve) => setTimeout(resolve, 4200));
    expect((await probe(fresh.key)).status).toBe(404);
    expect((await probe(invented())).status).toBe(403);
  });
});
