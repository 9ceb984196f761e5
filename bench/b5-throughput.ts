// B5: worker throughput against the CPU ceiling. For each worker concurrency, a fresh worker
// (WORKER_CONCURRENCY=c) warms up, then runs a batch of script-rendered pages. The CPU time of the
// worker process tree (node + Chromium, utime+stime of live processes plus what they reaped, from
// /proc/<pid>/stat) over the batch gives CPU-seconds per page; the ceiling is cores / that, the
// rate this machine could reach if the worker alone used every core. Achieved is pages / wall time.
import { availableParallelism } from "node:os";
import type { BenchContext } from "./lib/context.ts";
import { treeCpuSeconds } from "./lib/proc.ts";
import { runBatch } from "./lib/stack.ts";
import { fmt, note, reportRatio } from "./lib/stats.ts";

export async function runB5(ctx: BenchContext): Promise<void> {
  const { api, key } = await ctx.stack();
  const cores = availableParallelism();
  let offset = 5000;
  const rows: string[] = [];
  for (const c of ctx.options.b5Concurrency) {
    const pages = Math.max(ctx.options.b5Pages, 4 * c);
    const urls = Array.from({ length: pages }, (_, i) => ctx.fixtures.app(offset + i));
    offset += pages;
    const worker = await ctx.useWorker({ WORKER_CONCURRENCY: String(c) });
    const cpu0 = await treeCpuSeconds(worker.pid);
    const { wallMs, batch } = await runBatch(api.api, key, { urls }, { intervalMs: 1000 });
    const cpu1 = await treeCpuSeconds(worker.pid);
    await ctx.stopWorker();
    if (batch.completedCount !== pages) throw new Error(`c=${c}: ${batch.completedCount}/${pages} pages completed`);
    const cpuPerPage = (cpu1 - cpu0) / pages;
    const ceiling = cores / cpuPerPage;
    const achieved = pages / (wallMs / 1000);
    reportRatio({
      id: "B5",
      what: `throughput at concurrency ${c}`,
      ours: `achieved ${fmt(achieved, 2)} pages/s`,
      theirs: `ceiling ${fmt(ceiling, 2)} pages/s`,
      ratio: achieved / ceiling,
    });
    rows.push(`c=${c}: ${pages} pages in ${fmt(wallMs / 1000, 1)} s, ${fmt(cpuPerPage * 1000)} ms CPU per page`);
  }
  note(`ceiling = ${cores} cores / (worker + Chromium CPU-seconds per page); no target in issue #8`);
  for (const r of rows) note(r);
}
