import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
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

/**
 * Pages under a batch test's control, on 127.0.0.1: `/gate/NAME` answers once `open(NAME)` is
 * called, `/flaky/NAME` answers 500 while NAME is in `failing`, anything else a page. Requests and
 * the cookies they carried are recorded by path.
 */
export interface ControlledPages {
  origin: string;
  url(path: string): string;
  hitsOf(path: string): number;
  cookiesSeen(path: string): string[];
  open(name: string): void;
  /** Answers every held request, then closes the server. */
  close(): Promise<void>;
}

export async function startControlledPages(opts: { failing: ReadonlySet<string> }): Promise<ControlledPages> {
  const hits = new Map<string, number>();
  const cookies = new Map<string, string[]>();
  const held = new Map<string, Array<() => void>>();
  const opened = new Set<string>();
  const hitsOf = (path: string) => hits.get(path) ?? 0;
  const open = (name: string) => {
    opened.add(name);
    for (const answer of held.get(name) ?? []) answer();
    held.delete(name);
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    hits.set(path, hitsOf(path) + 1);
    cookies.set(path, [...(cookies.get(path) ?? []), req.headers.cookie ?? ""]);
    const [, kind, name = ""] = path.split("/");
    const answer = () => {
      if (res.destroyed) return;
      const down = kind === "flaky" && opts.failing.has(name);
      res.writeHead(down ? 500 : 200, { "content-type": "text/html; charset=utf-8" });
      const title = down ? "Internal Server Error" : `Page ${path}`;
      res.end(
        `<html><head><title>${title}</title></head><body><h1>${title}</h1><p>Enough text here to be a page of its own, not an error page.</p></body></html>`,
      );
    };
    if (kind === "gate" && !opened.has(name)) held.set(name, [...(held.get(name) ?? []), answer]);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (path) => `${origin}${path}`,
    hitsOf,
    cookiesSeen: (path) => cookies.get(path) ?? [],
    open,
    close: async () => {
      for (const name of [...held.keys()]) open(name);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
