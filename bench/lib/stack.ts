// Orbweaver as real processes for the benchmarks: the gateway and the worker each run
// `node --import tsx apps/cli/src/main.ts start --role …` (what `pnpm start:api` / `start:worker`
// and the compose services run), against the shared Postgres (database orbweaver_bench, created
// and migrated here) and Redis under a queue prefix of their own.
import { createAccount, createDb, ensureDatabase, runMigrations } from "@orbweaver/db";
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRedisConnection, createScrapeQueue } from "@orbweaver/queue";
import { Redis } from "ioredis";
import { sleep } from "./stats.ts";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/orbweaver_bench";
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Every queue prefix this run used, deleted from Redis at the end. */
export const usedPrefixes = new Set<string>();

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Settings of a bench stack: private addresses allowed (the fixtures are on loopback), limits far
 * above what a bench sends (rate limit, pending jobs, batch size), quiet logs.
 */
export function benchEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  usedPrefixes.add(prefix);
  return {
    DATABASE_URL,
    REDIS_URL,
    CHROMIUM_PATH,
    HOST: "127.0.0.1",
    QUEUE_PREFIX: prefix,
    DATA_DIR: join(tmpdir(), `orbweaver-${prefix}`),
    LOG_LEVEL: "warn",
    ALLOW_PRIVATE_NETWORK: "true",
    WORKER_CONCURRENCY: "2",
    RATE_LIMIT_MAX: "100000000",
    MAX_PENDING_SCRAPE_JOBS: "1000000",
    MAX_URLS_PER_SCRAPE: "3",
    MAX_URLS_PER_BATCH: "1000",
    MAX_PENDING_BATCHES: "1000",
    // Enough items queued that a worker never waits for the next one (≥ 2 × the largest concurrency).
    BATCH_CONCURRENCY: "16",
    ...overrides,
  };
}

/**
 * Creates and migrates the bench database and empties it: every run starts from the same state.
 * What earlier runs left (B3 alone writes tens of thousands of jobs a run, and ending them leaves as
 * many dead row versions, which this machine's Postgres, autovacuum off, keeps) made the jobs table
 * grow by hundreds of megabytes, past Postgres's buffers, and slowed every later run's writes.
 */
export async function prepareDatabase(): Promise<void> {
  await ensureDatabase(DATABASE_URL);
  await runMigrations(DATABASE_URL);
  const handle = createDb({ url: DATABASE_URL, max: 1 });
  try {
    // Accounts own every other row (keys, jobs, ledger, batches, crawls) through foreign keys.
    await handle.pool.query("truncate accounts cascade");
  } finally {
    await handle.close();
  }
}

/** Jobs failed per statement by {@link failUnfinishedJobs}. */
const FAIL_SLICE = 2000;

/**
 * Ends the jobs a bench left unfinished: failed in Postgres (a reconciler of a later worker would
 * re-dispatch them), and their ids taken out of the run's queues, so a later worker does not spend
 * minutes skipping tens of thousands of ended jobs before it reaches its own (B3 leaves that many).
 */
export async function failUnfinishedJobs(): Promise<void> {
  const handle = createDb({ url: DATABASE_URL, max: 1 });
  try {
    // In slices: one statement moving an account's pending count once per job makes as many
    // versions of the account row in one transaction, each update walking the ones before it
    // (45 s for B3's 50,000 jobs of one account in one statement). Postgres servers vacuum the dead
    // versions away on their own; this machine's runs with autovacuum off, and a bloated accounts
    // table slows every later submit (the submit function took 1.8 times as long, mostly in
    // foreign-key checks walking the dead versions): vacuumed after each slice.
    for (;;) {
      const { rowCount } = await handle.pool.query(
        `update jobs set status = 'failed', error = 'ended by the benchmark', finished_at = now(), updated_at = now()
          where id in (select id from jobs where status in ('waiting', 'delayed', 'active') limit ${FAIL_SLICE})`,
      );
      await handle.pool.query("vacuum accounts");
      if ((rowCount ?? 0) < FAIL_SLICE) break;
    }
    // And the jobs' own old versions, which a later round's or bench's writes would otherwise wade through.
    await handle.pool.query("vacuum jobs");
  } finally {
    await handle.close();
  }
  const connection = createRedisConnection(REDIS_URL, "producer");
  try {
    for (const prefix of usedPrefixes) {
      const queue = createScrapeQueue({ connection, prefix });
      await queue.drain(true);
      await queue.close();
    }
  } finally {
    connection.disconnect();
  }
}

/** Accounts with credits for any bench, and their keys. */
export async function createBenchAccounts(count: number): Promise<Array<{ key: string; accountId: string }>> {
  const handle = createDb({ url: DATABASE_URL, max: 1 });
  try {
    const out: Array<{ key: string; accountId: string }> = [];
    for (let i = 0; i < count; i++) {
      const { key, accountId } = await createAccount(handle.db, {
        name: `bench-${Date.now()}-${i}`,
        credits: 100_000_000,
      });
      out.push({ key, accountId });
    }
    return out;
  } finally {
    await handle.close();
  }
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

function spawnRole(role: "api" | "worker", env: Record<string, string>): Proc {
  // BENCH_NODE_ARGS: extra Node flags for the processes under test, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);
  const child = spawn(
    process.execPath,
    [...nodeArgs, "--import", "tsx", "apps/cli/src/main.ts", "start", "--role", role],
    {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    pid: child.pid ?? -1,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 40_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface ApiProc extends Proc {
  /** http://127.0.0.1:PORT/api */
  api: string;
}

/** Starts the gateway and waits for GET /ready. */
export async function startApiProcess(env: Record<string, string>): Promise<ApiProc> {
  const port = await freePort();
  const proc = spawnRole("api", { ...env, PORT: String(port) });
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`${origin}/ready`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (proc.child.exitCode !== null || Date.now() > deadline) {
      await proc.stop();
      throw new Error(`the api did not become ready:\n${proc.output()}`);
    }
    await sleep(200);
  }
  return { ...proc, api: `${origin}/api` };
}

/** Starts a worker process; it is ready once a warm-up scrape (which also launches Chromium) completes. */
export async function startWorkerProcess(
  env: Record<string, string>,
  warmUp: { api: string; key: string; url: string },
): Promise<Proc> {
  const proc = spawnRole("worker", env);
  try {
    const { jobId } = await submitScrape(warmUp.api, warmUp.key, { urls: [{ url: warmUp.url }] });
    const done = await pollScrape(warmUp.api, warmUp.key, jobId, { intervalMs: 100, timeoutMs: 90_000 });
    if (done.status !== "completed") throw new Error(`warm-up scrape ${done.status}: ${done.error ?? ""}`);
  } catch (err) {
    await proc.stop();
    throw new Error(`worker warm-up failed: ${(err as Error).message}\n${proc.output()}`);
  }
  return proc;
}

/**
 * One JSON call. A kept-alive connection the server closed as it was reused ("fetch failed") is
 * retried once. Submits carry no Idempotency-Key (it would add a lookup to what B1 times); a retry
 * that follows a lost answer at worst adds one extra job.
 */
async function callJson<T>(url: string, key: string, body?: unknown): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { "x-api-key": key };
  if (body !== undefined) headers["content-type"] = "application/json";
  const init = {
    method: body === undefined ? "GET" : "POST",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  };
  const res = await fetch(url, init).catch(async (err: unknown) => {
    if (!(err instanceof TypeError)) throw err;
    await sleep(200);
    return fetch(url, init);
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export interface ScrapePoll {
  status: string;
  error: string | null;
  result: null | {
    data: Array<{ url: string; markdownContent: string; success: boolean; error?: string | null }>;
    stats: { durationMs: number };
  };
}

export async function submitScrape(api: string, key: string, body: unknown): Promise<{ jobId: string }> {
  const res = await callJson<{ jobId: string }>(`${api}/scrape`, key, body);
  if (res.status !== 202) throw new Error(`POST /scrape answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** One poll of a scrape job. */
export async function getScrape(api: string, key: string, jobId: string): Promise<ScrapePoll> {
  const res = await callJson<ScrapePoll>(`${api}/scrape/${jobId}`, key);
  if (res.status !== 200) throw new Error(`GET /scrape/${jobId} answered ${res.status}`);
  return res.body;
}

export async function pollScrape(
  api: string,
  key: string,
  jobId: string,
  opts: { intervalMs: number; timeoutMs: number },
): Promise<ScrapePoll> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const body = await getScrape(api, key, jobId);
    if (body.status === "completed" || body.status === "failed") return body;
    if (Date.now() > deadline) throw new Error(`scrape ${jobId} still ${body.status} after ${opts.timeoutMs} ms`);
    await sleep(opts.intervalMs);
  }
}

export interface BatchPoll {
  status: string;
  totalUrls: number;
  completedCount: number;
  failedCount: number;
  finishedAt: string | null;
  items: Array<{ url: string; status: string; result: unknown; error: string | null }>;
}

/**
 * Submits a batch and polls it until terminal. `wallMs`: from the submit to the poll that saw it
 * done (late by up to one poll interval); `doneMs`: from the submit to the batch's `finishedAt`
 * (the server's clock, on this machine too: when its last item finished).
 */
export async function runBatch(
  api: string,
  key: string,
  body: { urls: string[] } & Record<string, unknown>,
  opts: { intervalMs?: number; timeoutMs?: number } = {},
): Promise<{ wallMs: number; doneMs: number; batch: BatchPoll }> {
  const t0 = performance.now();
  const submitted = Date.now();
  const res = await callJson<{ batchId: string }>(`${api}/batch/scrape`, key, body);
  if (res.status !== 202) throw new Error(`POST /batch/scrape answered ${res.status}: ${JSON.stringify(res.body)}`);
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  for (;;) {
    const poll = await callJson<BatchPoll>(`${api}/batch/scrape/${res.body.batchId}`, key);
    if (poll.status !== 200) throw new Error(`GET /batch/scrape answered ${poll.status}`);
    if (["completed", "failed", "cancelled"].includes(poll.body.status)) {
      const wallMs = performance.now() - t0;
      const finished = poll.body.finishedAt ? Date.parse(poll.body.finishedAt) : NaN;
      return { wallMs, doneMs: Number.isFinite(finished) ? finished - submitted : wallMs, batch: poll.body };
    }
    if (Date.now() > deadline) throw new Error(`batch ${res.body.batchId} unfinished after the deadline`);
    await sleep(opts.intervalMs ?? 50);
  }
}

/** Removes every Redis key of the queue prefixes this run used. */
export async function deleteRedisPrefixes(prefixes: Iterable<string>): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    for (const prefix of prefixes) {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== "0");
    }
  } finally {
    redis.disconnect();
  }
}
