import { waitFor } from "@orbweaver/testkit";
import { call } from "./http.ts";

export interface BatchBody {
  batchId: string;
  status: string;
  totalUrls: number;
  completedCount: number;
  failedCount: number;
  createdAt: string;
  finishedAt: string | null;
  items: Array<{
    uuid: string;
    url: string;
    jobId: string | null;
    status: string;
    result: unknown;
    error: string | null;
    creditsUsed: number;
    startedAt: string | null;
    finishedAt: string | null;
    screenshotUrl: string | null;
  }>;
}

/** Polls a batch until it is terminal (completed, failed or cancelled). */
export async function pollBatch(api: string, key: string, batchId: string, timeoutMs = 90_000): Promise<BatchBody> {
  return waitFor(
    async () => {
      const res = await call<BatchBody>(`${api}/batch/scrape/${batchId}`, { key });
      if (res.status !== 200) throw new Error(`batch poll answered ${res.status}`);
      return ["completed", "failed", "cancelled"].includes(res.body.status) ? res.body : undefined;
    },
    { timeoutMs, intervalMs: 200, message: `batch ${batchId} to finish` },
  );
}

/** The ledger invariant: balance = opening credits − Σ creditsUsed of every job of the account. */
export async function ledgerGap(
  pool: { query: (q: string, v: unknown[]) => Promise<{ rows: Array<Record<string, unknown>> }> },
  accountId: string,
  opening: number,
): Promise<number> {
  const { rows } = await pool.query(
    `select a.credits_balance::float as balance,
            coalesce((select sum(credits_used) from jobs where account_id = a.id), 0)::float as used,
            coalesce((select sum(delta) from credit_ledger where account_id = a.id), 0)::float as ledger
       from accounts a where a.id = $1`,
    [accountId],
  );
  const row = rows[0] as { balance: number; used: number; ledger: number };
  if (Math.abs(row.ledger - row.balance) > 1e-9) throw new Error(`ledger ${row.ledger} != balance ${row.balance}`);
  return opening - row.used - row.balance;
}
