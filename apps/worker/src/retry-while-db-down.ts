import { isDbUnavailable } from "@orbweaver/db";
import type { Logger } from "pino";

/**
 * Runs a Postgres write, retrying with backoff (250 ms doubling to 2 s) while the database is
 * unreachable, for at most `budgetMs`. Used for the writes that settle a job: the pages are loaded
 * and paid for in time already, so waiting for the database beats scraping again. The writes it
 * wraps are guarded by the attempt's run token, so a retry after an ambiguous commit is refused
 * rather than applied twice. Any other error, or the budget running out, is rethrown.
 */
export async function retryWhileDbDown<T>(
  write: () => Promise<T>,
  opts: { log: Logger; budgetMs: number; what: string },
): Promise<T> {
  const giveUpAt = Date.now() + opts.budgetMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await write();
    } catch (err) {
      if (!isDbUnavailable(err) || Date.now() + delay > giveUpAt) throw err;
      opts.log.warn({ err, retryInMs: delay }, `database unavailable; ${opts.what} will be retried`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
