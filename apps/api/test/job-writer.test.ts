// The gateway's group commit for single scrapes (createJobWriter), against the real Postgres:
// submits that arrive while a write runs are written together in the next one, and a write held up
// on one account's lock does not hold up the other accounts' submits.
import { createAccount, createDb, isDbValueRefused, type CreateScrapeJobOptions, type Db } from "@orbweaver/db";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { createJobWriter } from "../src/use-cases/job-writer.ts";

const handle = createDb({ url: process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/orbweaver_test" });
const { db, pool } = handle;
afterAll(async () => {
  // The jobs written here are never run: settled, so that no later test's reconciler adopts them.
  await pool.query(
    `update jobs set status = 'failed', error = 'The test ended', finished_at = now(), updated_at = now()
      where status not in ('completed', 'failed', 'cancelled')
        and account_id in (select id from accounts where name like 'writer-%')`,
  );
  await handle.close();
});

const job = (accountId: string, n: number): CreateScrapeJobOptions => ({
  accountId,
  request: { urls: [{ url: `https://example.com/${n}` }], output: "markdown" },
  creditsToReserve: 1,
  maxPendingJobs: 10,
});

async function jobsOf(accountIds: string[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    "select count(*)::int as n from jobs where account_id = any($1::uuid[])",
    [accountIds],
  );
  return rows[0]?.n ?? 0;
}

/** The same database, counting the statements the writer sends. */
function counting(target: Db): { db: Db; statements: () => number } {
  let n = 0;
  const db = new Proxy(target, {
    get(t, prop, receiver) {
      const value: unknown = Reflect.get(t, prop, receiver);
      if (prop !== "execute" || typeof value !== "function") return value;
      return (...args: unknown[]) => {
        n += 1;
        return (value as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
  return { db, statements: () => n };
}

describe("job writer", () => {
  it("writes the submits that arrive during a write together in the next one", async () => {
    const accounts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => createAccount(db, { name: `writer-group-${i}`, credits: 5 })),
    );
    const ids = accounts.map((a) => a.accountId);
    const { db: counted, statements } = counting(db);
    const writer = createJobWriter(counted);
    // The first is written at once; the other 19, of 19 other accounts, arrive while it runs.
    const results = await Promise.all(ids.map((id, i) => writer.create(job(id, i))));
    expect(results.map((r) => r.ok)).toEqual(ids.map(() => true));
    expect(statements()).toBe(2);
    expect(await jobsOf(ids)).toBe(20);
  });

  it("does not hold other accounts' submits behind a write waiting on one account's lock", async () => {
    const held = await createAccount(db, { name: "writer-held", credits: 5 });
    const other = await createAccount(db, { name: "writer-other", credits: 5 });
    const writer = createJobWriter(db);
    // Another transaction holds the held account's lock (as a batch submit of that account would).
    const holder = await pool.connect();
    try {
      await holder.query("begin");
      await holder.query("select pg_advisory_xact_lock(hashtextextended($1::uuid::text, 0))", [held.accountId]);
      let heldSettled = false;
      const heldWrite = writer.create(job(held.accountId, 1)).finally(() => (heldSettled = true));
      await sleep(100);
      expect(heldSettled).toBe(false);
      const otherResult = await Promise.race([writer.create(job(other.accountId, 2)), sleep(5000, "held up" as const)]);
      expect(otherResult).toEqual({ ok: true, jobId: expect.any(String) });
      expect(await jobsOf([other.accountId])).toBe(1);
      expect(heldSettled).toBe(false);
      await holder.query("commit");
      expect((await heldWrite).ok).toBe(true);
      expect(await jobsOf([held.accountId])).toBe(1);
    } finally {
      await holder.query("rollback").catch(() => undefined);
      holder.release();
    }
  });

  it("values Postgres cannot store fail only the submits that brought them, not the others of their group", async () => {
    const accounts = await Promise.all(
      Array.from({ length: 12 }, (_, i) => createAccount(db, { name: `writer-nul-${i}`, credits: 5 })),
    );
    const ids = accounts.map((a) => a.accountId);
    const writer = createJobWriter(db);
    // The first is written at once; the other 11 are written together, two of them with a request
    // Postgres refuses: a NUL character, an unpaired surrogate.
    const bad = new Map([
      [4, "a\u0000b"],
      [7, "a\ud800b"],
    ]);
    const settled = await Promise.allSettled(
      ids.map((id, i) => {
        const prompt = bad.get(i);
        return writer.create(
          prompt ? { ...job(id, i), request: { urls: [{ url: "https://example.com/" }], prompt } } : job(id, i),
        );
      }),
    );
    expect(settled.map((s) => s.status)).toEqual(ids.map((_, i) => (bad.has(i) ? "rejected" : "fulfilled")));
    for (const i of bad.keys()) expect(isDbValueRefused((settled[i] as PromiseRejectedResult).reason)).toBe(true);
    expect(await jobsOf(ids)).toBe(ids.length - 2);
    expect(await jobsOf([...bad.keys()].map((i) => ids[i]!))).toBe(0);
  });
});
