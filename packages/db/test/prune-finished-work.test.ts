// pruneFinishedWork (JOB_RETENTION_MS): finished work older than the cutoff goes, whole batches at
// a time; unfinished work and the credit ledger stay. Rows are aged to 2000 and the cutoff is 2001,
// so no other test's rows in the shared database are in range and the counts are exact.
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import {
  createAccount,
  createBatch,
  createDb,
  createScrapeJobs,
  finishJob,
  pruneFinishedWork,
  startJobAttempt,
} from "../src/index.ts";

const handle = createDb({ url: process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/orbweaver_test" });
const { db } = handle;
afterAll(() => handle.close());

const LONG_AGO = "2000-06-01T00:00:00Z";
const CUTOFF = new Date("2001-01-01T00:00:00Z");

async function finish(jobId: string) {
  const started = await startJobAttempt(db, jobId);
  await finishJob(db, { jobId, runToken: started!.runToken!, status: "completed", creditsUsed: 1 });
}
async function ageJobs(ids: string[]) {
  await db.execute(sql`update jobs set finished_at = case when finished_at is null then null else ${LONG_AGO}::timestamptz end,
                          updated_at = ${LONG_AGO}, created_at = ${LONG_AGO}
                        where id = any(${`{${ids.join(",")}}`}::uuid[])`);
}
async function ageBatch(id: string) {
  await db.execute(sql`update batches set updated_at = ${LONG_AGO}, created_at = ${LONG_AGO} where id = ${id}`);
}
async function existing(table: "jobs" | "batches", ids: string[]): Promise<string[]> {
  const found = await db.execute<{ id: string }>(
    sql`select id from ${sql.identifier(table)} where id = any(${`{${ids.join(",")}}`}::uuid[])`,
  );
  return found.rows.map((r) => r.id).sort();
}
async function newBatch(accountId: string, n: number) {
  const batch = await createBatch(db, {
    accountId,
    urls: Array.from({ length: n }, (_, i) => `https://example.com/b${i}`),
    request: {},
    outputFormat: "markdown",
    creditsPerItem: 1,
    maxPendingBatches: 10,
  });
  if (!batch.ok) throw new Error(batch.reason);
  return batch;
}

describe("pruneFinishedWork", () => {
  it("deletes old finished scrapes and wholly finished old batches; keeps the rest and the ledger", async () => {
    const { accountId } = await createAccount(db, { name: "prune", credits: 100 });
    const created = await createScrapeJobs(
      db,
      [1, 2, 3].map((n) => ({
        accountId,
        request: { urls: [{ url: `https://example.com/${n}` }] },
        creditsToReserve: 1,
        maxPendingJobs: 10,
      })),
    );
    const [oldDone, newDone, oldRunning] = created.map((r) => (r.ok ? r.jobId : "")) as [string, string, string];
    await finish(oldDone);
    await finish(newDone);
    await startJobAttempt(db, oldRunning);
    await ageJobs([oldDone, oldRunning]);

    const done = await newBatch(accountId, 2);
    const half = await newBatch(accountId, 2);
    const recent = await newBatch(accountId, 2);
    for (const id of [...done.jobIds, half.jobIds[0]!, ...recent.jobIds]) await finish(id);
    await ageJobs([...done.jobIds, ...half.jobIds, recent.jobIds[0]!]);
    for (const b of [done, half, recent]) await ageBatch(b.batchId);
    const ledger = sql`select count(*)::int as n from credit_ledger where account_id = ${accountId}`;
    const ledgerBefore = (await db.execute<{ n: number }>(ledger)).rows[0]!.n;

    // One row a chunk: every loop goes round more than once.
    expect(await pruneFinishedWork(db, { before: CUTOFF, chunk: 1 })).toEqual({ scrapes: 1, batches: 1, crawls: 0 });

    expect(await existing("jobs", [oldDone, newDone, oldRunning])).toEqual([newDone, oldRunning].sort());
    expect(await existing("batches", [done.batchId, half.batchId, recent.batchId])).toEqual(
      [half.batchId, recent.batchId].sort(),
    );
    expect(await existing("jobs", [...done.jobIds, ...half.jobIds, ...recent.jobIds])).toEqual(
      [...half.jobIds, ...recent.jobIds].sort(),
    );
    const items = await db.execute<{ batch_id: string; n: number }>(
      sql`select batch_id, count(*)::int as n from batch_items
           where batch_id in (${done.batchId}, ${half.batchId}, ${recent.batchId}) group by batch_id order by batch_id`,
    );
    expect(items.rows).toEqual([half.batchId, recent.batchId].sort().map((id) => ({ batch_id: id, n: 2 })));
    expect((await db.execute<{ n: number }>(ledger)).rows[0]!.n).toBe(ledgerBefore);
    // Nothing more in range: a second pass deletes nothing.
    expect(await pruneFinishedWork(db, { before: CUTOFF })).toEqual({ scrapes: 0, batches: 0, crawls: 0 });
  });
});
