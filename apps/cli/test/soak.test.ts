import { readdir, readFile } from "node:fs/promises";
import os from "node:os";
import { createInterface } from "node:readline";
import { startFixtureSite, waitFor, type FixtureSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "./helpers/http.ts";
import { spawnCli, type Spawned } from "./helpers/spawn.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

/*
 * Soak: JOBS scrape jobs through one worker process (spawned, as in production), one in
 * BROWSER_EVERY in Chromium so the browser is recycled every RECYCLE_PAGES page loads. The worker's resident memory
 * right after a full garbage collection (the gc probe's `process.memoryUsage().rss`) may not grow by 10% or more
 * between job 500 and the last job; Chromium's
 * (every process below the worker) is measured and reported beside it. The long test of the suite;
 * its run time and figures are printed at the end.
 */

const JOBS = 2000;
const FIRST_MARK = 500;
const RECYCLE_PAGES = 100;
const WORKER_CONCURRENCY = 6;
/** Jobs kept submitted and unfinished at any time. */
const IN_FLIGHT = 24;
/**
 * One job in four forces Chromium with a no-op action (500 page loads, so several recycles); the
 * others go over the HTTP path. A browser job costs about 0.3-0.45 CPU-seconds (a new renderer
 * process per context), an HTTP one about 0.015, so this mix keeps the soak near three minutes on
 * an idle 2-core machine (one in three over HTTP took 12.5 minutes in the full suite).
 */
const BROWSER_EVERY = 4;
/** RSS is taken as the median of the samples while this many jobs around a mark finish. */
const WINDOW = 100;
/** No job finishing for this long fails the test. */
const STALL_MS = 90_000;

let site: FixtureSite;
let stack: TestStack;
let worker: Spawned;

beforeAll(async () => {
  site = await startFixtureSite();
  stack = await startTestStack({
    worker: false,
    env: {
      WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
      BROWSER_RECYCLE_PAGES: String(RECYCLE_PAGES),
      MAX_PENDING_SCRAPE_JOBS: String(IN_FLIGHT * 2),
      PAGE_TIMEOUT_MS: "20000",
      JOB_TIMEOUT_MS: "60000",
    },
  });
});
afterAll(async () => {
  worker?.child.kill("SIGKILL");
  await stack?.stop();
  await site?.close();
});

/** VmRSS of a process in bytes, or 0 when it is gone. */
async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : 0;
}

/** Every process below `root` (Chromium's browser, zygotes, renderers, utilities). */
async function descendants(root: number): Promise<Array<{ pid: number; cmdline: string }>> {
  const parentOf = new Map<number, number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // Fields after the parenthesised command name: state, ppid, ...
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (Number.isFinite(ppid)) parentOf.set(Number(entry), ppid);
  }
  const out: Array<{ pid: number; cmdline: string }> = [];
  const isBelow = (pid: number): boolean => {
    for (let p = parentOf.get(pid), hops = 0; p !== undefined && hops < 10; p = parentOf.get(p), hops++) {
      if (p === root) return true;
    }
    return false;
  };
  for (const pid of parentOf.keys()) {
    if (!isBelow(pid)) continue;
    out.push({ pid, cmdline: (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).replace(/\0/g, " ") });
  }
  return out;
}

/** CPU seconds used by `root` and everything below it, reaped children included. */
async function treeCpuSeconds(root: number, below: Array<{ pid: number }>): Promise<number> {
  let ticks = 0;
  for (const pid of [root, ...below.map((p) => p.pid)]) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    // utime, stime, cutime, cstime are fields 14-17; after ")" the fields start at 3.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += [11, 12, 13, 14].reduce((sum, i) => sum + (Number(f[i]) || 0), 0);
  }
  // Children's times are counted once, by the parent that reaped them; live ones by themselves.
  return ticks / 100;
}

interface Sample {
  finished: number;
  /** The worker's RSS right after a full garbage collection. */
  workerRss: number;
  heapUsed: number;
  /** The worker's RSS read just before that collection. */
  uncollectedRss: number;
  chromiumRss: number;
  cpuSeconds: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!;
};
const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;

describe("soak", () => {
  it(
    `runs ${JOBS} jobs through one worker with bounded memory and a recycled browser`,
    { timeout: 45 * 60_000 },
    async () => {
      const { key, accountId } = await stack.createKey(JOBS * 2 + 100);
      // Info logs from the worker only: its Chromium launches and recycles are counted from them.
      // The gc probe makes each memory sample follow what the worker keeps, not when V8 gets round
      // to a major collection: without it, old-generation garbage piled up ~0.1 MiB a job for 1,500
      // jobs on this 24 GiB machine (+28-41 % RSS between the marks in runs with no major collection
      // in between, -13 % to -18 % in runs with one), and even under a 192 MiB heap cap one CI run
      // read +14.6 %. Each sample is taken right after a full collection.
      worker = spawnCli(["start", "--role", "worker"], { ...stack.env, LOG_LEVEL: "info" }, [
        "--import",
        "./apps/cli/test/helpers/gc-probe.mjs",
      ]);
      const workerPid = worker.child.pid!;
      await waitFor(() => worker.output().includes("worker ready"), { timeoutMs: 60_000, message: "the worker" });
      const probes: NodeJS.MemoryUsage[] = [];
      createInterface({ input: worker.child.stderr! }).on("line", (line) => {
        if (line.startsWith("gc-probe ")) probes.push(JSON.parse(line.slice("gc-probe ".length)));
      });
      /** The worker's memory right after a full garbage collection. */
      const collectedMemory = async (): Promise<NodeJS.MemoryUsage> => {
        const seen = probes.length;
        worker.child.kill("SIGUSR2");
        await waitFor(() => probes.length > seen, { timeoutMs: 20_000, message: "the worker's gc probe" });
        return probes[probes.length - 1]!;
      };

      const started = Date.now();
      let submitted = 0;
      let finished = 0;
      const samples: Sample[] = [];
      const browserPids = new Set<number>();
      let sampling = true;
      // Memory (after a full collection) and Chromium's main process, sampled about once a second while jobs run.
      const sampler = (async () => {
        while (sampling) {
          const below = await descendants(workerPid);
          let chromiumRss = 0;
          for (const p of below) {
            chromiumRss += await rssOf(p.pid);
            if (p.cmdline.includes("--orbweaver-pool=") && !p.cmdline.includes("--type=")) browserPids.add(p.pid);
          }
          const cpuSeconds = await treeCpuSeconds(workerPid, below);
          const at = finished;
          const uncollectedRss = await rssOf(workerPid);
          const memory = await collectedMemory();
          samples.push({
            finished: at,
            workerRss: memory.rss,
            heapUsed: memory.heapUsed,
            uncollectedRss,
            chromiumRss,
            cpuSeconds,
          });
          await new Promise((r) => setTimeout(r, 500));
        }
      })();

      const submitOne = async (n: number): Promise<void> => {
        const url = site.url(`/page-with-title?title=Soak+${n}`);
        const body =
          n % BROWSER_EVERY === 0
            ? { urls: [{ url, actions: [{ type: "wait", duration: 1 }] }] }
            : { urls: [{ url }], scrapeMode: "fast" };
        const res = await call<{ jobId: string }>(`${stack.api}/scrape`, { key, body });
        expect(res.status, JSON.stringify(res.body)).toBe(202);
      };
      const countFinished = async (): Promise<number> =>
        (
          await stack.pool.query(
            "select count(*)::int as n from jobs where account_id = $1 and status in ('completed', 'failed')",
            [accountId],
          )
        ).rows[0].n as number;

      let lastProgress = Date.now();
      while (finished < JOBS) {
        const room = Math.min(IN_FLIGHT - (submitted - finished), JOBS - submitted);
        if (room > 0) {
          await Promise.all(Array.from({ length: room }, (_, i) => submitOne(submitted + i)));
          submitted += room;
        }
        await new Promise((r) => setTimeout(r, 100));
        const before = finished;
        finished = await countFinished();
        if (finished > before) lastProgress = Date.now();
        // A stalled worker fails the test rather than hanging it.
        if (Date.now() - lastProgress > STALL_MS) throw new Error(`no job finished for ${STALL_MS} ms at ${finished}`);
      }
      const elapsedMs = Date.now() - started;
      sampling = false;
      await sampler;

      // Every job completed, once.
      const rows = await stack.pool.query(
        "select status, attempts, count(*)::int as n from jobs where account_id = $1 group by 1, 2",
        [accountId],
      );
      const failures = await stack.pool.query(
        "select error, count(*)::int as n from jobs where account_id = $1 and status <> 'completed' group by 1",
        [accountId],
      );
      expect(rows.rows, JSON.stringify(failures.rows)).toEqual([{ status: "completed", attempts: 1, n: JOBS }]);

      const around = (mark: number) =>
        samples.filter((s) => s.finished >= mark - WINDOW && s.finished <= Math.min(mark + WINDOW, JOBS));
      const at500 = around(FIRST_MARK);
      const atEnd = around(JOBS);
      const rss500 = median(at500.map((s) => s.workerRss));
      const rssEnd = median(atEnd.map((s) => s.workerRss));
      const growth = (rssEnd - rss500) / rss500;
      const heap500 = median(at500.map((s) => s.heapUsed));
      const heapEnd = median(atEnd.map((s) => s.heapUsed));
      const raw500 = median(at500.map((s) => s.uncollectedRss));
      const rawEnd = median(atEnd.map((s) => s.uncollectedRss));
      const chrome500 = median(at500.map((s) => s.chromiumRss));
      const chromeEnd = median(atEnd.map((s) => s.chromiumRss));
      const first = samples.find((s) => s.finished > 0);
      const last = samples[samples.length - 1]!;
      const cpuPerJob = first ? (last.cpuSeconds - first.cpuSeconds) / Math.max(1, last.finished - first.finished) : 0;
      const launches = worker.output().split("chromium launched").length - 1;
      const recycles = worker.output().split("recycling chromium").length - 1;
      console.info(
        [
          `soak: ${JOBS} jobs in ${(elapsedMs / 1000).toFixed(1)} s (${((JOBS / elapsedMs) * 1000).toFixed(1)} jobs/s)`,
          `worker RSS after a full collection ${mib(rss500)} at job ${FIRST_MARK}, ${mib(rssEnd)} at job ${JOBS}: ${(growth * 100).toFixed(1)}%`,
          `worker heap used ${mib(heap500)} and ${mib(heapEnd)}; RSS before the collection ${mib(raw500)} and ${mib(rawEnd)}`,
          `Chromium RSS ${mib(chrome500)} at job ${FIRST_MARK}, ${mib(chromeEnd)} at job ${JOBS}`,
          `Chromium launches ${launches}, recycles ${recycles}, distinct browser pids ${browserPids.size}`,
          `CPU ${cpuPerJob.toFixed(3)} s per job (worker and Chromium), ${os.loadavg()[0]!.toFixed(1)} load average`,
          `samples ${samples.length} (${at500.length} around job ${FIRST_MARK}, ${atEnd.length} around job ${JOBS})`,
        ].join("\n"),
      );

      expect(at500.length).toBeGreaterThan(0);
      expect(atEnd.length).toBeGreaterThan(0);
      expect(growth).toBeLessThan(0.1);
      // Recycled every RECYCLE_PAGES browser page loads (the HTTP-path jobs never open a context).
      const browserJobs = Math.ceil(JOBS / BROWSER_EVERY);
      expect(recycles).toBeGreaterThanOrEqual(Math.floor((browserJobs - 1) / RECYCLE_PAGES));
      expect(launches).toBe(recycles + 1);
      expect(browserPids.size).toBeGreaterThanOrEqual(recycles);

      worker.child.kill("SIGTERM");
      expect(await worker.exited).toBe(0);
    },
  );
});
