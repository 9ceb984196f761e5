import { startApi } from "@orbweaver/api";
import { loadConfig, type Config } from "@orbweaver/config";
import { createAccount, createDb, runMigrations, type DbHandle } from "@orbweaver/db";
import {
  getFreePort,
  installJobAudit,
  startFixtureSite,
  startOpenAIServer,
  startPostgresServer,
  waitFor,
  type FixtureSite,
  type OpenAIServer,
  type PostgresServer,
} from "@orbweaver/testkit";
import { startWorker, type WorkerContext } from "@orbweaver/worker";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll } from "vitest";
import { spawnCli, type Spawned } from "./spawn.ts";
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
  /** The account's credit balance, read from Postgres (NaN for an unknown account). */
  balance(accountId: string): Promise<number>;
  /** Workers started in this process (the first one unless `worker: false`). */
  workers: WorkerContext[];
  /** Starts another worker. */
  startWorker(): Promise<{ close(): Promise<void> }>;
  stop(): Promise<void>;
}

export interface TestStackOptions {
  /** Environment on top of the test defaults. */
  env?: Record<string, string>;
  /** `false`: start no worker in this process. */
  worker?: boolean;
}

/** Boots the gateway and (by default) a worker in this process against the real Postgres, Redis and Chromium. */
export async function startTestStack(opts: TestStackOptions = {}): Promise<TestStack> {
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
    balance: async (accountId) => {
      const { rows } = await handle.pool.query<{ credits_balance: string }>(
        "select credits_balance from accounts where id = $1",
        [accountId],
      );
      return Number(rows[0]?.credits_balance);
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

/** Registers hooks that run `start` before all tests of the file or block, hand the result to `use`, and stop it after them. */
export function useStarted<T extends { stop(): Promise<void> }>(
  start: () => Promise<T>,
  use: (started: T) => void,
): void {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
    use(started);
  });
  afterAll(async () => {
    await started?.stop();
  });
}

export interface SiteAndStack {
  site: FixtureSite;
  stack: TestStack;
  /** Stops the stack, then closes the site. */
  stop(): Promise<void>;
}

/** Starts the fixture site and a test stack (options as for startTestStack). */
export async function startSiteAndStack(opts: TestStackOptions = {}): Promise<SiteAndStack> {
  const site = await startFixtureSite();
  let stack: TestStack;
  try {
    stack = await startTestStack(opts);
  } catch (err) {
    await site.close();
    throw err;
  }
  return {
    site,
    stack,
    stop: async () => {
      await stack.stop();
      await site.close();
    },
  };
}

export interface ModelStack extends SiteAndStack {
  /** The scripted OpenAI-compatible server the stack's LLM calls go to. */
  model: OpenAIServer;
}

/** Starts the fixture site, a scripted OpenAI server and a test stack whose LLM is that server, with `env` on top. */
export async function startModelStack(env: Record<string, string> = {}): Promise<ModelStack> {
  const model = await startOpenAIServer();
  try {
    const started = await startSiteAndStack({
      env: { OPENAI_BASE_URL: model.baseURL, OPENAI_API_KEY: "test", ...env },
    });
    return {
      ...started,
      model,
      stop: async () => {
        await started.stop();
        await model.close();
      },
    };
  } catch (err) {
    await model.close();
    throw err;
  }
}

export interface PrivatePostgresStack extends SiteAndStack {
  /** The stack's own Postgres cluster, which the test may stop and start. */
  postgres: PostgresServer;
}

/** Starts a private, migrated Postgres cluster with the job audit installed, the fixture site and a test stack on that cluster. */
export async function startPrivatePostgresStack(opts: TestStackOptions = {}): Promise<PrivatePostgresStack> {
  const postgres = await startPostgresServer();
  try {
    await runMigrations(postgres.url);
    const started = await startSiteAndStack({ ...opts, env: { DATABASE_URL: postgres.url, ...opts.env } });
    try {
      await installJobAudit(started.stack.pool);
    } catch (err) {
      await started.stop();
      throw err;
    }
    return {
      ...started,
      postgres,
      stop: async () => {
        await started.stop();
        await postgres.close();
      },
    };
  } catch (err) {
    await postgres.close();
    throw err;
  }
}

export interface SpawnedStack {
  /** A stack without a worker in this process, for keys and database access. */
  stack: TestStack;
  /** The API base of the spawned `start` process. */
  api: string;
  /** The spawned `start` process (gateway and worker), whose output can be searched. */
  process: Spawned;
  /** Stops the process with SIGTERM and waits for it, then stops the stack. */
  stop(): Promise<void>;
}

/** Runs gateway and worker as one spawned `start` process with the test env plus `env`, beside a worker-less in-process stack. */
export async function startSpawnedStack(env: Record<string, string>): Promise<SpawnedStack> {
  const port = await getFreePort();
  const processEnv = testEnv({ PORT: String(port), ...env });
  const stack = await startTestStack({ worker: false, env: { ...processEnv, PORT: "0" } });
  const spawned = spawnCli(["start"], processEnv);
  const stop = async () => {
    spawned.child.kill("SIGTERM");
    await spawned.exited;
    await stack.stop();
  };
  try {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).ok, { timeoutMs: 60_000 });
  } catch (err) {
    await stop();
    throw err;
  }
  return { stack, api: `http://127.0.0.1:${port}/api`, process: spawned, stop };
}

/** Runs `fn` counting the browser contexts the stack's first worker opens meanwhile (one per page loaded in Chromium). */
export async function countingContexts<T>(
  stack: TestStack,
  fn: () => Promise<T>,
): Promise<{ value: T; contexts: number }> {
  const pool = stack.workers[0]!.pool;
  const original = pool.newContext;
  let contexts = 0;
  pool.newContext = (tag: string) => {
    contexts++;
    return original.call(pool, tag);
  };
  try {
    return { value: await fn(), contexts };
  } finally {
    pool.newContext = original;
  }
}
