import { createScrapeJobs, type CreateScrapeJobResult, type Db, type NewScrapeJob } from "@orbweaver/db";

/** Most jobs written in one transaction. */
const MAX_GROUP = 100;

export interface JobWriter {
  /** Stores one scrape job with its credit reservation (see `createScrapeJob`). */
  create(accountId: string, job: NewScrapeJob): Promise<CreateScrapeJobResult>;
}

type Waiting = { job: NewScrapeJob; resolve(r: CreateScrapeJobResult): void; reject(e: unknown): void };

/**
 * Group commit for submits. One account's submits are serialised (an advisory lock per account keeps
 * the pending-job limit and the balance exact), so under a burst each would wait for the one before.
 * Instead, while an account's transaction runs, its next submits queue here and are written together
 * in the next one (one lock, one count, one debit, one insert); a lone submit is written at once,
 * with no added wait. Every submit still gets its own answer, decided in arrival order.
 */
export function createJobWriter(db: Db): JobWriter {
  const queues = new Map<string, Waiting[]>();

  async function drain(accountId: string, queue: Waiting[]): Promise<void> {
    while (queue.length > 0) {
      const group = queue.splice(0, MAX_GROUP);
      try {
        const results = await createScrapeJobs(
          db,
          accountId,
          group.map((w) => w.job),
        );
        group.forEach((w, i) => w.resolve(results[i] ?? { ok: false, reason: "INSUFFICIENT_CREDITS" }));
      } catch (err) {
        for (const w of group) w.reject(err);
      }
    }
    queues.delete(accountId);
  }

  return {
    create(accountId, job) {
      return new Promise((resolve, reject) => {
        const queue = queues.get(accountId);
        if (queue) {
          queue.push({ job, resolve, reject });
          return;
        }
        const fresh: Waiting[] = [{ job, resolve, reject }];
        queues.set(accountId, fresh);
        void drain(accountId, fresh);
      });
    },
  };
}
