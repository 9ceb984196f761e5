import { createScrapeJobs, type CreateScrapeJobOptions, type CreateScrapeJobResult, type Db } from "@orbweaver/db";

/** Most jobs written in one transaction. */
const MAX_GROUP = 100;
/** Transactions in flight at once; submits arriving meanwhile wait for the next one. */
const MAX_IN_FLIGHT = 4;

export interface JobWriter {
  /** Stores one scrape job with its credit reservation (see `createScrapeJobs`). */
  create(job: CreateScrapeJobOptions): Promise<CreateScrapeJobResult>;
}

type Waiting = { job: CreateScrapeJobOptions; resolve(r: CreateScrapeJobResult): void; reject(e: unknown): void };

/**
 * Group commit for submits. Every submit is a transaction that serialises on its account (an
 * advisory lock keeps the pending-job limit and the balance exact) and waits for the WAL flush; under
 * a burst that makes each wait for the ones before. Instead, submits that arrive while
 * MAX_IN_FLIGHT writes run queue here and are written together in the next one, whatever their
 * accounts (one statement: one lock per account, one count, one debit per account, one insert of
 * each kind); an account is in one write at a time, so its submits never wait on its own lock.
 * A lone submit is written at once, with no added wait. Every submit still gets its own answer,
 * decided in arrival order.
 */
export function createJobWriter(db: Db): JobWriter {
  let queue: Waiting[] = [];
  let inFlight = 0;
  /** Accounts with a transaction in flight: their next submits wait for the next one rather than queue on the lock. */
  const busy = new Set<string>();

  function pump(): void {
    while (inFlight < MAX_IN_FLIGHT) {
      const group: Waiting[] = [];
      const rest: Waiting[] = [];
      for (const w of queue) {
        if (group.length < MAX_GROUP && !busy.has(w.job.accountId)) group.push(w);
        else rest.push(w);
      }
      if (group.length === 0) return;
      queue = rest;
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
