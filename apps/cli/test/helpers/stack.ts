import { startApi } from "@orbweaver/api";
import { loadConfig, type Config } from "@orbweaver/config";
import { createAccount, createDb, type DbHandle } from "@orbweaver/db";
import { startWorker, type WorkerContext } from "@orbweaver/worker";
import type { AddressInfo } from "node:net";
import { testEnv } from "./test-env.ts";

export interface TestStack {
  config: Config;
  env: Record<string, string>;
  /** http://127.0.0.1:PORT */
  origin: string;
  /** origin + API prefix */
  api: string;
  db: DbHandle["db"];
  pool: DbHandle["pool"];
  createKey(credits?: number): Promise<{ key: string; accountId: string; keyId: string }>;
  /** Workers started in this process (the first one unless `worker: false`). */
  workers: WorkerContext[];
  /** Starts another worker. */
  startWorker(): Promise<{ close(): Promise<void> }>;
  stop(): Promise<void>;
}

/** Boots the gateway and (by default) a worker in this process against the real Postgres, Redis and Chromium. */
export async function startTestStack(
  opts: { env?: Record<string, string>; worker?: boolean } = {},
): Promise<TestStack> {
  const env = testEnv(opts.env);
  const config = loadConfig(env);
  const handle = createDb({ url: config.databaseUrl, max: 4 });
  const closers: Array<() => Promise<void>> = [];
  const workers: WorkerContext[] = [];
  const accountIds: string[] = [];
  const startOneWorker = async () => {
    const w = await startWorker(config);
    closers.push(w.close);
    workers.push(w.context);
    return w;
  };
  if (opts.worker !== false) await startOneWorker();
  const api = await startApi(config);
  closers.push(api.close);
  const { port } = api.app.server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    config,
    env,
    origin,
    api: `${origin}${config.apiPrefix}`,
    db: handle.db,
    pool: handle.pool,
    createKey: async (credits = 100) => {
      const created = await createAccount(handle.db, { name: `test-${Date.now()}`, credits });
      accountIds.push(created.accountId);
      return created;
    },
    workers,
    startWorker: startOneWorker,
    stop: async () => {
      for (const close of closers.reverse()) await close();
      // Jobs this stack's accounts left unfinished would otherwise be adopted by the reconciler of a
      // later test file's stack (the database is shared): settle them here, as this test's own.
      if (accountIds.length > 0)
        await handle.pool.query(
          `update jobs set status = 'failed', error = 'The test stack stopped', finished_at = now(), updated_at = now()
            where account_id = any($1::uuid[]) and status not in ('completed', 'failed', 'cancelled')`,
          [accountIds],
        );
      await handle.close();
    },
  };
}
