import {
  createScrapeJobs,
  isDbValueRefused,
  type CreateScrapeJobOptions,
  type CreateScrapeJobResult,
  type Db,
} from "@orbweaver/db";

/** Most jobs written in one transaction. */
const MAX_GROUP = 100;
/** Transactions in flight at once, at most. */
const MAX_IN_FLIGHT = 4;
/**
 * A transaction starts beside those in flight only once the newest of them has run this long. A
 * write normally ends well within it, and the submits that arrived meanwhile are written together
 * in the next one; a write held up (on an account's lock, a slow disk) does not hold up the rest.
 */
const STALL_MS = 10;

export interface JobWriter {
  /** Stores one scrape job with its credit reservation and its `Idempotency-Key` record (see `createScrapeJobs`). */
  create(job: CreateScrapeJobOptions): Promise<CreateScrapeJobResult>;
}

type Waiting = { job: CreateScrapeJobOptions; resolve(r: CreateScrapeJobResult): void; reject(e: unknown): void };

/**
 * Group commit for submits. Every submit is a transaction that serialises on its account (an
 * advisory lock keeps the pending-job limit and the balance exact) and waits for the WAL flush; under
 * a burst that makes each wait for the ones before. Instead, submits that arrive while a write runs
 * queue here and are written together in the next one, whatever their accounts (one statement: one
 * lock per account, one count, one debit per account, one insert of each kind); an account is in
 * one write at a time, so its submits never wait on its own lock. Writes run one at a time while
 * they end in time: each costs Postgres about as much again as 10 of its jobs (the call, the locks,
 * the commit), so fewer and larger ones carry more submits (with 50 accounts under load, 4 writes in
 * flight carried a quarter to a third fewer than one). A write past STALL_MS lets the next one start beside it, up
 * to MAX_IN_FLIGHT. A lone submit is written at once, with no added wait. Every submit still gets
 * its own answer, decided in arrival order.
 */
export function createJobWriter(db: Db): JobWriter {
  let queue: Waiting[] = [];
  let inFlight = 0;
  /** When the newest write in flight started (performance.now()). */
  let newestStart = 0;
  let timer: NodeJS.Timeout | null = null;
  /** Accounts with a transaction in flight: their next submits wait for the next one rather than queue on the lock. */
  const busy = new Set<string>();

  function pump(): void {
    while (inFlight < MAX_IN_FLIGHT && queue.length > 0) {
      const ranMs = performance.now() - newestStart;
      if (inFlight > 0 && ranMs < STALL_MS) {
        timer ??= setTimeout(() => {
          timer = null;
          pump();
        }, STALL_MS - ranMs);
        return;
      }
      const group: Waiting[] = [];
      const rest: Waiting[] = [];
      for (const w of queue) {
        if (group.length < MAX_GROUP && !busy.has(w.job.accountId)) group.push(w);
        else rest.push(w);
      }
      if (group.length === 0) return;
      queue = rest;
      newestStart = performance.now();
      const accounts = new Set(group.map((w) => w.job.accountId));
      for (const a of accounts) busy.add(a);
      inFlight += 1;
      void write(group).finally(() => {
        inFlight -= 1;
        for (const a of accounts) busy.delete(a);
        pump();
      });
    }
  }

  async function write(group: Waiting[]): Promise<void> {
    try {
      const results = await createScrapeJobs(
        db,
        group.map((w) => w.job),
      );
      group.forEach((w, i) => w.resolve(results[i] ?? { ok: false, reason: "INSUFFICIENT_CREDITS" }));
    } catch (err) {
      // A value Postgres cannot store fails the whole statement: the group's other submits, of other
      // accounts too, are written one by one so that only the one that brought it fails.
      if (group.length > 1 && isDbValueRefused(err)) {
        for (const w of group) await write([w]);
        return;
      }
      for (const w of group) w.reject(err);
    }
  }

  return {
    create(job) {
      return new Promise((resolve, reject) => {
        queue.push({ job, resolve, reject });
        pump();
      });
    },
  };
}
