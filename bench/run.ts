// `pnpm bench [B1 … B6] [--quick] [--b1-pages N] [--b2-sizes 50,200] [--b5-concurrency 1,2,4,8]
//  [--b5-pages N] [--b6-pages N] [--b3-seconds N] [--b4-max-bytes N] [--rounds N] [--b3-rounds N]
//  [--concurrency N]`
// Runs the chosen benchmarks (all by default) against Orbweaver started as real processes and
// prints one line per ratio, then all ratio lines again as a summary. See bench/README.md.
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { runB1 } from "./b1-scrape.ts";
import { runB2 } from "./b2-batch.ts";
import { runB3 } from "./b3-gateway.ts";
import { runB4 } from "./b4-markdown.ts";
import { runB5 } from "./b5-throughput.ts";
import { runB6 } from "./b6-fast-path.ts";
import type { BenchContext, BenchOptions } from "./lib/context.ts";
import { startBenchFixtures } from "./lib/fixtures.ts";
import {
  benchEnv,
  createBenchAccounts,
  deleteRedisPrefixes,
  failUnfinishedJobs,
  prepareDatabase,
  startApiProcess,
  startWorkerProcess,
  usedPrefixes,
  type ApiProc,
  type Proc,
} from "./lib/stack.ts";
import { ratioLines } from "./lib/stats.ts";

const BENCHES: Record<string, (ctx: BenchContext) => Promise<void>> = {
  B1: runB1,
  B2: runB2,
  B3: runB3,
  B4: runB4,
  B5: runB5,
  B6: runB6,
};

function parseArgs(argv: string[]): { ids: string[]; options: BenchOptions } {
  const quick = argv.includes("--quick");
  const options: BenchOptions = {
    b1Pages: quick ? 6 : 20,
    b2Sizes: quick ? [10] : [50, 200],
    b5Concurrency: quick ? [1, 2] : [1, 2, 4, 8],
    b5Pages: quick ? 8 : 32,
    b6Pages: quick ? 8 : 30,
    b3Seconds: quick ? 3 : 10,
    b4MaxBytes: quick ? 300_000 : 2_000_000,
    rounds: quick ? 1 : 3,
    b3Rounds: quick ? 1 : 5,
    concurrency: 2,
  };
  const ids: string[] = [];
  const list = (v: string) => v.split(",").map((x) => Number(x.trim()));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (/^b[1-6]$/i.test(arg)) ids.push(arg.toUpperCase());
    else if (arg === "--quick" || arg === "--") continue;
    else if (arg === "--b1-pages") options.b1Pages = Number(value());
    else if (arg === "--b2-sizes") options.b2Sizes = list(value());
    else if (arg === "--b5-concurrency") options.b5Concurrency = list(value());
    else if (arg === "--b5-pages") options.b5Pages = Number(value());
    else if (arg === "--b6-pages") options.b6Pages = Number(value());
    else if (arg === "--b3-seconds") options.b3Seconds = Number(value());
    else if (arg === "--b4-max-bytes") options.b4MaxBytes = Number(value());
    else if (arg === "--rounds") options.rounds = Math.max(1, Math.round(Number(value())));
    else if (arg === "--b3-rounds") options.b3Rounds = Math.max(1, Math.round(Number(value())));
    else if (arg === "--concurrency") options.concurrency = Number(value());
    else throw new Error(`unknown argument ${arg}`);
  }
  return { ids: ids.length > 0 ? ids : Object.keys(BENCHES), options };
}

async function main(): Promise<void> {
  const { ids, options } = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(
    `Orbweaver benchmarks ${ids.join(" ")} · ${availableParallelism()} cores (${cpu}) · ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB · Node ${process.version} · ${new Date().toISOString()}`,
  );
  const fixtures = await startBenchFixtures();
  let stack: { api: ApiProc; key: string; env: Record<string, string> } | undefined;
  let worker: Proc | undefined;
  const ctx: BenchContext = {
    fixtures,
    options,
    stack: async () => {
      if (!stack) {
        await prepareDatabase();
        const env = benchEnv();
        const [account] = await createBenchAccounts(1);
        const key = account?.key ?? "";
        stack = { api: await startApiProcess(env), key, env };
      }
      return stack;
    },
    useWorker: async (overrides = {}) => {
      await ctx.stopWorker();
      const s = await ctx.stack();
      worker = await startWorkerProcess(
        { ...s.env, ...overrides },
        { api: s.api.api, key: s.key, url: fixtures.app(0) },
      );
      return worker;
    },
    stopWorker: async () => {
      await worker?.stop();
      worker = undefined;
    },
  };
  let failed = false;
  try {
    for (const id of ids) {
      const run = BENCHES[id];
      if (!run) continue;
      console.log(`\n== ${id}`);
      const t0 = performance.now();
      try {
        await run(ctx);
      } catch (err) {
        failed = true;
        console.log(`${id} FAILED: ${(err as Error).stack ?? String(err)}`);
      }
      // Other work on the machine skews both sides of a ratio less than the absolute figures.
      const load = loadavg()
        .map((l) => l.toFixed(1))
        .join(" ");
      console.log(`   (${id} took ${Math.round((performance.now() - t0) / 1000)} s; load average ${load})`);
    }
  } finally {
    await ctx.stopWorker();
    await stack?.api.stop();
    await fixtures.close();
    await failUnfinishedJobs().catch(() => undefined);
    await deleteRedisPrefixes(usedPrefixes).catch(() => undefined);
  }
  console.log(`\n== Summary (${Math.round((performance.now() - started) / 1000)} s)`);
  for (const line of ratioLines) console.log(line);
  if (failed) process.exitCode = 1;
}

await main();
