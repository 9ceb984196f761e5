// B2: a batch of 50 and of 200 script-rendered pages through POST /api/batch/scrape against
// Crawlee's PlaywrightCrawler (bench/lib/crawlee-run.ts) with the same Chromium, flags and
// concurrency. Wall time: Orbweaver from the submit to the batch's `finishedAt` (worker warm; the
// server's clock, on the same machine); it is polled once a second like a client would, each poll
// returning every finished item, and the time to the poll that saw it done (up to 1 s later) is
// printed too; Crawlee from crawler.run() to its return (which includes its Chromium launch; the time
// from its first navigation is printed too). Peak memory: RSS summed over the process tree (our
// worker + its Chromium; the Crawlee process + its Chromium), sampled from /proc every 100 ms. CPU
// seconds per kind of process of each tree (node, browser, renderer, gpu...) are printed too.
import { spawn } from "node:child_process";
import type { BenchContext } from "./lib/context.ts";
import { formatCpuByKind, sampleCpuByKind, samplePeakRss } from "./lib/proc.ts";
import { CHROMIUM_PATH, repoRoot, runBatch } from "./lib/stack.ts";
import { fmt, inRoundOrder, medianRound, mib, note, reportRatio } from "./lib/stats.ts";

interface CrawleeResult {
  wallMs: number;
  afterLaunchMs: number;
  ok: number;
  failed: number;
}

type TheirRun = CrawleeResult & { peakRss: number; cpu: Map<string, number> };
type OurRun = { doneMs: number; wallMs: number; peakRss: number; cpu: Map<string, number> };

async function runCrawlee(urls: string[], concurrency: number): Promise<TheirRun> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "bench/lib/crawlee-run.ts",
      JSON.stringify({ urls, concurrency, executablePath: CHROMIUM_PATH }),
    ],
    { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] },
  );
  const sampler = samplePeakRss(child.pid ?? -1);
  const cpuSampler = sampleCpuByKind(child.pid ?? -1);
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-5000)));
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  const peakRss = await sampler.stop();
  const cpu = await cpuSampler.stop();
  const line = out.trim().split("\n").pop() ?? "";
  if (code !== 0 || !line.startsWith("{")) throw new Error(`crawlee run exited ${code}:\n${out}\n${err}`);
  return { ...(JSON.parse(line) as CrawleeResult), peakRss, cpu };
}

async function runOrbweaverBatch(
  ctx: BenchContext,
  opts: { api: string; key: string; urls: string[]; concurrency: number },
): Promise<OurRun> {
  const size = opts.urls.length;
  // A fresh worker per run, so its peak memory is this batch's and not the last one's.
  const worker = await ctx.useWorker({ WORKER_CONCURRENCY: String(opts.concurrency) });
  const sampler = samplePeakRss(worker.pid);
  const cpuSampler = sampleCpuByKind(worker.pid);
  const ours = await runBatch(opts.api, opts.key, { urls: opts.urls }, { intervalMs: 1000 });
  const peakRss = await sampler.stop();
  const cpu = await cpuSampler.stop();
  await ctx.stopWorker();
  if (ours.batch.completedCount !== size) {
    throw new Error(`orbweaver batch: ${ours.batch.completedCount}/${size} completed (${ours.batch.status})`);
  }
  return { doneMs: ours.doneMs, wallMs: ours.wallMs, peakRss, cpu };
}

export async function runB2(ctx: BenchContext): Promise<void> {
  const { api, key } = await ctx.stack();
  const c = ctx.options.concurrency;
  let offset = 10_000; // past the pages of the other benches, however many rounds
  for (const size of ctx.options.b2Sizes) {
    const rounds = [];
    for (let r = 0; r < ctx.options.rounds; r++) {
      // Each round its own pages; the side that goes first alternates.
      const urls = Array.from({ length: size }, (_, i) => ctx.fixtures.app(offset + i));
      offset += size;
      const theirSide = async () => {
        const theirs = await runCrawlee(urls, c);
        if (theirs.ok !== size)
          throw new Error(`crawlee: ${theirs.ok}/${size} pages rendered, ${theirs.failed} failed`);
        return theirs;
      };
      const ourSide = () => runOrbweaverBatch(ctx, { api: api.api, key, urls, concurrency: c });
      const [ours, theirs] = await inRoundOrder<[OurRun, TheirRun]>(r, [ourSide, theirSide]);
      rounds.push({ ours, theirs, wall: ours.doneMs / theirs.wallMs, rss: ours.peakRss / theirs.peakRss });
    }
    const mid = medianRound(rounds, (x) => x.wall);
    const midRss = medianRound(rounds, (x) => x.rss);
    reportRatio({
      id: "B2",
      what: `batch ${size} wall`,
      ours: `orbweaver ${fmt(mid.ours.doneMs / 1000, 1)} s`,
      theirs: `crawlee ${fmt(mid.theirs.wallMs / 1000, 1)} s`,
      ratio: mid.wall,
      target: { op: "≤", value: 1.0 },
    });
    reportRatio({
      id: "B2",
      what: `batch ${size} peak RSS`,
      ours: `orbweaver ${mib(midRss.ours.peakRss)}`,
      theirs: `crawlee ${mib(midRss.theirs.peakRss)}`,
      ratio: midRss.rss,
    });
    const { ours, theirs } = mid;
    note(
      `median of ${rounds.length} rounds (each both sides, alternating which goes first): wall ${rounds.map((x) => fmt(x.wall, 2)).join(", ")}; peak RSS ${rounds.map((x) => fmt(x.rss, 2)).join(", ")}; details below from the median round`,
    );
    note(
      `concurrency ${c} both; crawlee from its first navigation (without its Chromium launch): ${fmt(theirs.afterLaunchMs / 1000, 1)} s → ratio ${fmt(ours.doneMs / theirs.afterLaunchMs, 2)}`,
    );
    note(`CPU by process (sampled every 50 ms): orbweaver worker tree ${formatCpuByKind(ours.cpu)}`);
    note(`CPU by process: crawlee tree ${formatCpuByKind(theirs.cpu)}`);
    note(
      `orbweaver to the poll (every 1 s) that saw the batch done: ${fmt(ours.wallMs / 1000, 1)} s → ratio ${fmt(ours.wallMs / theirs.wallMs, 2)}`,
    );
  }
}
