import { PRODUCTS, startFixtureSite, waitFor, type FixtureSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

/*
 * A burst of ten times capacity. Capacity is what the stack admits at once: WORKER_CONCURRENCY (2)
 * slots × MAX_PENDING_SCRAPE_JOBS (10) = 20 jobs, spread over two accounts of 10 pending each.
 * Each account's key may make RATE_LIMIT_MAX (60) requests in the window, so the burst of 200
 * submits meets both limits: over the rate limit → 429 RATE_LIMITED, over the pending limit → 429
 * TOO_MANY_PENDING_JOBS. Nothing else may come back (no 5xx, no timeouts), and every accepted job
 * completes exactly once: one attempt, one reserve, no refund, nothing for the rejected ones.
 */

const WORKER_CONCURRENCY = 2;
const MAX_PENDING = 10;
const ACCOUNTS = 2;
const RATE_LIMIT_MAX = 60;
const CAPACITY = WORKER_CONCURRENCY * MAX_PENDING;
const BURST = CAPACITY * 10;
const CREDITS = 1000;

let site: FixtureSite;
let stack: TestStack;

beforeAll(async () => {
  site = await startFixtureSite();
  stack = await startTestStack({
    env: {
      WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
      MAX_PENDING_SCRAPE_JOBS: String(MAX_PENDING),
      RATE_LIMIT_MAX: String(RATE_LIMIT_MAX),
      RATE_LIMIT_WINDOW_MS: "600000",
    },
  });
});
afterAll(async () => {
  await stack?.stop();
  await site?.close();
});

interface Answer {
  status: number | "timeout" | "network";
  body: { jobId?: string; status?: string; message?: string; code?: string } | undefined;
  retryAfter: string | null;
  ms: number;
}

async function submit(key: string, n: number): Promise<Answer> {
  const started = Date.now();
  // Every fourth job goes through Chromium; the rest are static pages the HTTP path takes.
  const url = {
    url: site.url(`/product/${(n % PRODUCTS.length) + 1}?n=${n}`),
    ...(n % 4 === 0 ? { actions: [{ type: "wait", duration: 10 }] } : {}),
  };
  try {
    const res = await fetch(`${stack.api}/scrape`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key },
      body: JSON.stringify({ urls: [url] }),
      // "No timeouts": a generous bound that a healthy gateway never comes near.
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text ? (JSON.parse(text) as Answer["body"]) : undefined,
      retryAfter: res.headers.get("retry-after"),
      ms: Date.now() - started,
    };
  } catch (err) {
    const timeout = (err as Error).name === "TimeoutError";
    return { status: timeout ? "timeout" : "network", body: undefined, retryAfter: null, ms: Date.now() - started };
  }
}

describe("overload", () => {
  it(`answers a burst of ${BURST} submits (10x capacity) with only 202 or 429, and completes every 202 once`, async () => {
    const accounts = await Promise.all(Array.from({ length: ACCOUNTS }, () => stack.createKey(CREDITS)));
    const burstStarted = Date.now();
    const answers = await Promise.all(Array.from({ length: BURST }, (_, n) => submit(accounts[n % ACCOUNTS]!.key, n)));
    const burstMs = Date.now() - burstStarted;

    const byStatus = new Map<string, number>();
    for (const a of answers) byStatus.set(String(a.status), (byStatus.get(String(a.status)) ?? 0) + 1);
    console.info(
      `overload: ${BURST} submits in ${burstMs} ms, slowest ${Math.max(...answers.map((a) => a.ms))} ms,`,
      Object.fromEntries(byStatus),
    );
    expect([...byStatus.keys()].every((s) => s === "202" || s === "429")).toBe(true);

    const accepted = answers.filter((a) => a.status === 202);
    const rejected = answers.filter((a) => a.status === 429);
    // Each account fills its pending slots at least; no account gets more than its rate limit.
    expect(accepted.length).toBeGreaterThanOrEqual(CAPACITY);
    expect(accepted.length).toBeLessThanOrEqual(ACCOUNTS * RATE_LIMIT_MAX);
    // Both limits were met, and every 429 says which one and when to come back.
    const reasons = new Set(rejected.map((a) => (a.body?.code === "TOO_MANY_PENDING_JOBS" ? "pending" : "rate")));
    expect([...reasons].sort()).toEqual(["pending", "rate"]);
    for (const a of rejected) {
      expect(a.body?.status).toBe("error");
      expect(typeof a.body?.message).toBe("string");
      expect(Number(a.retryAfter)).toBeGreaterThan(0);
    }

    const ids = accepted.map((a) => a.body!.jobId!);
    expect(new Set(ids).size).toBe(ids.length);
    const accountIds = accounts.map((a) => a.accountId);
    await waitFor(
      async () => {
        const r = await stack.pool.query(
          "select count(*)::int as n from jobs where account_id = any($1) and status not in ('completed', 'failed')",
          [accountIds],
        );
        return r.rows[0].n === 0;
      },
      { timeoutMs: 240_000, intervalMs: 500, message: "every accepted job to finish" },
    );

    // Exactly the accepted jobs exist: a rejected submit leaves no row behind.
    const jobs = await stack.pool.query(
      "select id, status, attempts, error, result is not null as has_result from jobs where account_id = any($1)",
      [accountIds],
    );
    expect(jobs.rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    for (const row of jobs.rows) {
      expect(row, JSON.stringify(row)).toMatchObject({ status: "completed", attempts: 1, has_result: true });
    }
    // One reserve per job and nothing else: charged once, never refunded, never doubled.
    const ledger = await stack.pool.query(
      "select job_id, reason, count(*)::int as n from credit_ledger where account_id = any($1) and job_id is not null group by 1, 2",
      [accountIds],
    );
    expect(ledger.rows.every((r) => r.reason === "reserve" && r.n === 1)).toBe(true);
    expect(ledger.rows.length).toBe(ids.length);
    const balances = await stack.pool.query(
      "select sum(credits_balance)::float as total from accounts where id = any($1)",
      [accountIds],
    );
    expect(balances.rows[0].total).toBe(ACCOUNTS * CREDITS - 2 * ids.length);
  });
});
