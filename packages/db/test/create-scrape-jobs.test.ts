// createScrapeJobs: a group of submits of several accounts in one statement (the database function
// orbweaver_create_scrape_jobs). Each item is decided in order against its own account's pending
// limit and balance; what is accepted has its job row, one `reserve` entry and its debit.
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import {
  createAccount,
  createBatch,
  createDb,
  createScrapeJobs,
  finishJob,
  getBalance,
  markJobDelayed,
  startJobAttempt,
  type CreateScrapeJobOptions,
  type CreateScrapeJobResult,
} from "../src/index.ts";

const handle = createDb({ url: process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/orbweaver_test" });
const { db } = handle;
afterAll(() => handle.close());

const request = (n: number) => ({ urls: [{ url: `https://example.com/${n}` }], output: "markdown" });
const item = (accountId: string, n: number, extra: Partial<CreateScrapeJobOptions> = {}): CreateScrapeJobOptions => ({
  accountId,
  request: request(n),
  creditsToReserve: 1,
  maxPendingJobs: 10,
  ...extra,
});

async function rowsOf(accountId: string) {
  const jobs = await db.execute<{
    id: string;
    request: unknown;
    credits_reserved: string;
    schema_warnings: unknown;
    channel: string;
    status: string;
    dispatched: boolean;
    progress: unknown;
  }>(
    sql`select id, request, credits_reserved, schema_warnings, channel, status, dispatched_at is not null as dispatched, progress
          from jobs where account_id = ${accountId} order by created_at, id`,
  );
  const ledger = await db.execute<{ job_id: string | null; delta: string; reason: string }>(
    sql`select job_id, delta, reason from credit_ledger where account_id = ${accountId} and reason = 'reserve'`,
  );
  return { jobs: jobs.rows, ledger: ledger.rows };
}

describe("createScrapeJobs", () => {
  it("decides each item in order against its own account's balance and pending limit", async () => {
    const a = await createAccount(db, { name: "group-a", credits: 3 });
    const b = await createAccount(db, { name: "group-b", credits: 100 });
    const results = await createScrapeJobs(db, [
      item(a.accountId, 1, { creditsToReserve: 2, schemaWarnings: ["w1"], channel: "mcp" }),
      item(b.accountId, 2, { maxPendingJobs: 2 }),
      item(a.accountId, 3, { creditsToReserve: 2 }), // 1 left: refused
      item(a.accountId, 4, { creditsToReserve: 1 }), // a cheaper one after it still fits
      item(b.accountId, 5, { maxPendingJobs: 2 }),
      item(b.accountId, 6, { maxPendingJobs: 2 }), // b's third pending job: over its limit
      item(a.accountId, 7, { creditsToReserve: 0 }), // free, and a has 0 left
    ]);
    expect(results.map((r) => (r.ok ? "ok" : r.reason))).toEqual([
      "ok",
      "ok",
      "INSUFFICIENT_CREDITS",
      "ok",
      "ok",
      "TOO_MANY_PENDING_JOBS",
      "ok",
    ]);
    expect(await getBalance(db, a.accountId)).toBe(0);
    expect(await getBalance(db, b.accountId)).toBe(98);

    const ofA = await rowsOf(a.accountId);
    const idsA = results.filter((r, i) => r.ok && [0, 3, 6].includes(i)).map((r) => (r.ok ? r.jobId : ""));
    expect(ofA.jobs.map((j) => j.id).sort()).toEqual([...idsA].sort());
    const first = ofA.jobs.find((j) => j.id === idsA[0]);
    expect(first).toMatchObject({
      request: request(1),
      credits_reserved: "2.0000",
      schema_warnings: ["w1"],
      channel: "mcp",
      status: "waiting",
      dispatched: true,
      progress: { message: "Waiting in queue", progress: 0 },
    });
    expect(ofA.jobs.find((j) => j.id === idsA[1])).toMatchObject({ schema_warnings: null, channel: "api" });
    // One reserve entry per charged job; the free one has none.
    expect(ofA.ledger.map((l) => [l.job_id, Number(l.delta)]).sort()).toEqual(
      [
        [idsA[0], -2],
        [idsA[1], -1],
      ].sort(),
    );
    const ofB = await rowsOf(b.accountId);
    expect(ofB.jobs).toHaveLength(2);
    expect(ofB.ledger).toHaveLength(2);
  });

  it("counts jobs already pending against the limit, and refuses an account that does not exist", async () => {
    const a = await createAccount(db, { name: "group-pending", credits: 10 });
    expect((await createScrapeJobs(db, [item(a.accountId, 1, { maxPendingJobs: 1 })]))[0]?.ok).toBe(true);
    const second = await createScrapeJobs(db, [
      item(a.accountId, 2, { maxPendingJobs: 1 }),
      item("00000000-0000-4000-8000-000000000000", 3),
    ]);
    expect(second).toEqual([
      { ok: false, reason: "TOO_MANY_PENDING_JOBS" },
      { ok: false, reason: "INSUFFICIENT_CREDITS" },
    ]);
    // A finished job no longer counts.
    await db.execute(sql`update jobs set status = 'completed' where account_id = ${a.accountId}`);
    expect((await createScrapeJobs(db, [item(a.accountId, 4, { maxPendingJobs: 1 })]))[0]?.ok).toBe(true);
    expect(await getBalance(db, a.accountId)).toBe(8);
  });

  it("never overdraws under concurrent groups of the same accounts", async () => {
    const a = await createAccount(db, { name: "group-race-a", credits: 10 });
    const b = await createAccount(db, { name: "group-race-b", credits: 7 });
    // Groups naming the accounts in both orders: the locks are taken in one order, so no deadlock.
    const groups = Array.from({ length: 12 }, (_, g) =>
      createScrapeJobs(
        db,
        Array.from({ length: 4 }, (_, i) =>
          item((g + i) % 2 === 0 ? a.accountId : b.accountId, g * 10 + i, { maxPendingJobs: 1000 }),
        ),
      ),
    );
    const accepted = (await Promise.all(groups)).flat().filter((r) => r.ok).length;
    expect(accepted).toBe(17);
    expect(await getBalance(db, a.accountId)).toBe(0);
    expect(await getBalance(db, b.accountId)).toBe(0);
    expect((await rowsOf(a.accountId)).ledger).toHaveLength(10);
    expect((await rowsOf(b.accountId)).jobs).toHaveLength(7);
  });

  it("keeps the pending count it decides on equal to the account's unfinished single scrapes", async () => {
    const a = await createAccount(db, { name: "group-counter", credits: 100 });
    const kept = async () =>
      (await db.execute<{ n: number }>(sql`select pending_scrapes as n from accounts where id = ${a.accountId}`))
        .rows[0]?.n;
    const actual = async () =>
      (
        await db.execute<{ n: number }>(
          sql`select count(*)::int as n from jobs where account_id = ${a.accountId} and kind = 'scrape'
                and batch_id is null and status in ('waiting', 'delayed', 'active')`,
        )
      ).rows[0]?.n;
    const ids = (
      await createScrapeJobs(
        db,
        [1, 2, 3, 4, 5].map((n) => item(a.accountId, n)),
      )
    ).map((r) => (r.ok ? r.jobId : ""));
    expect([await kept(), await actual()]).toEqual([5, 5]);
    // Batch items are not single scrapes.
    const batch = await createBatch(db, {
      accountId: a.accountId,
      urls: ["https://example.com/b1", "https://example.com/b2"],
      request: {},
      outputFormat: "markdown",
      creditsPerItem: 1,
      maxPendingBatches: 10,
    });
    expect(batch.ok).toBe(true);
    expect(await kept()).toBe(5);
    // Claimed, retried later: still pending.
    const started = await startJobAttempt(db, ids[0] as string);
    await markJobDelayed(db, { jobId: ids[0] as string, runToken: started?.runToken as string, error: "x" });
    expect(await kept()).toBe(5);
    // Finished, failed, deleted: no longer pending.
    const again = await startJobAttempt(db, ids[0] as string);
    await finishJob(db, {
      jobId: ids[0] as string,
      runToken: again?.runToken as string,
      status: "completed",
      creditsUsed: 1,
    });
    await finishJob(db, { jobId: ids[1] as string, runToken: null, status: "failed", creditsUsed: 0 });
    await db.execute(sql`delete from jobs where id = ${ids[2]}`);
    expect([await kept(), await actual()]).toEqual([2, 2]);
    // A finished job written again (a duplicate delivery) changes nothing.
    await finishJob(db, { jobId: ids[0] as string, runToken: null, status: "failed", creditsUsed: 0 });
    expect(await kept()).toBe(2);
    // The limit reads the kept count: 2 pending, limit 3 → one more fits.
    const next = await createScrapeJobs(db, [
      item(a.accountId, 6, { maxPendingJobs: 3 }),
      item(a.accountId, 7, { maxPendingJobs: 3 }),
    ]);
    expect(next.map((r) => r.ok)).toEqual([true, false]);
    expect([await kept(), await actual()]).toEqual([3, 3]);
  });
  it("records the accepted items' Idempotency-Keys with their jobs: a live key kept, an expired one taken over, the first of a group's duplicates", async () => {
    const a = await createAccount(db, { name: "group-keys", credits: 3 });
    const keyed = (n: number, key: string, hash = `h${n}`) =>
      item(a.accountId, n, { idempotency: { kind: "scrape", key, requestHash: hash } });
    const keys = async () =>
      (
        await db.execute<{ key: string; job_id: string; request_hash: string }>(
          sql`select key, job_id, request_hash from idempotency_keys where account_id = ${a.accountId} order by key`,
        )
      ).rows;
    const idOf = (r: CreateScrapeJobResult | undefined) => (r?.ok ? r.jobId : "");

    const first = await createScrapeJobs(db, [
      keyed(1, "k1"),
      item(a.accountId, 2), // unkeyed: no record
      keyed(3, "k1", "other"), // the same key again in the group: the first job keeps it
      item(a.accountId, 4, { idempotency: { kind: "scrape", key: "refused", requestHash: "h4" } }), // no credits left
    ]);
    expect(first.map((r) => r.ok)).toEqual([true, true, true, false]);
    expect(await keys()).toEqual([{ key: "k1", job_id: idOf(first[0]), request_hash: "h1" }]);

    await db.execute(sql`update accounts set credits_balance = 10 where id = ${a.accountId}`);
    // A live key is kept; once its 24 hours are over, the next job takes it over.
    const live = await createScrapeJobs(db, [keyed(5, "k1", "h5")]);
    expect(live[0]?.ok).toBe(true);
    expect(await keys()).toEqual([{ key: "k1", job_id: idOf(first[0]), request_hash: "h1" }]);
    await db.execute(
      sql`update idempotency_keys set created_at = now() - interval '24 hours 1 second' where account_id = ${a.accountId}`,
    );
    const later = await createScrapeJobs(db, [keyed(6, "k1", "h6"), keyed(7, "k2")]);
    expect(await keys()).toEqual([
      { key: "k1", job_id: idOf(later[0]), request_hash: "h6" },
      { key: "k2", job_id: idOf(later[1]), request_hash: "h7" },
    ]);
  });
});
