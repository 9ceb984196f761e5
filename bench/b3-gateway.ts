// B3: gateway requests per second with autocannon (50 connections) against a bare Fastify process
// (bench/lib/bare-gateway.ts) that only enqueues in BullMQ (submit) or reads Redis (poll).
// Ours: POST /api/scrape (auth, validation, credit reservation and the job row in Postgres, then
// the enqueue) and GET /api/scrape/{id} of a completed job (auth, read from Postgres). No worker
// runs during the measurement; every answer must be 2xx. Each side gets a short warm-up run first.
// Polls run first, before the submits fill the jobs table. Submits of one account are serialised
// (an advisory lock guards the pending-job limit and the balance), so the submit run is repeated
// with one account per connection to show what the gateway does across accounts. Each round
// (--b3-rounds, default 5) measures both sides back to back, the side that goes first alternating, and
// ends the jobs it queued; the ratios printed are the medians of the rounds'. Each run also reads
// from /proc the CPU time per request of the gateway, Postgres, Redis and autocannon (this process).
import autocannon from "autocannon";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { BenchContext } from "./lib/context.ts";
import {
  createBenchAccounts,
  failUnfinishedJobs,
  freePort,
  pollScrape,
  REDIS_URL,
  repoRoot,
  submitScrape,
  usedPrefixes,
} from "./lib/stack.ts";
import { cpuSecondsOf } from "./lib/proc.ts";
import { fmt, inRoundOrder, medianRound, note, reportRatio } from "./lib/stats.ts";

interface Load {
  rps: number;
  p99: number;
  total: number;
  /** CPU µs per request of the gateway, Postgres, Redis and the load generator (autocannon, in this process). */
  cpuUs: Map<string, number>;
}

async function load(
  opts: {
    url: string;
    method: "GET" | "POST";
    headers: Record<string, string>;
    body?: string;
    keys?: string[];
    /** The gateway's process. */
    pid: number;
  },
  seconds: number,
): Promise<Load> {
  const keys = opts.keys;
  const run = (duration: number) => {
    let next = 0;
    return autocannon({
      url: opts.url,
      method: opts.method,
      headers: opts.headers,
      ...(opts.body ? { body: opts.body } : {}),
      connections: 50,
      duration,
      // One account per connection.
      ...(keys
        ? { setupClient: (client) => client.setHeaders({ ...opts.headers, "x-api-key": keys[next++ % keys.length] }) }
        : {}),
    });
  };
  const cpu = () =>
    cpuSecondsOf({
      pids: { gateway: opts.pid, "load generator": process.pid },
      commands: ["postgres", "redis-server"],
    });
  await run(Math.max(1, Math.round(seconds / 4)));
  const before = await cpu();
  const r = await run(seconds);
  const after = await cpu();
  const bad = r.non2xx + r.errors + r.timeouts;
  if (bad > 0) throw new Error(`${opts.method} ${opts.url}: ${bad} of ${r.requests.total} answers were not 2xx`);
  const cpuUs = new Map([...after].map(([k, v]) => [k, ((v - (before.get(k) ?? 0)) * 1e6) / r.requests.total]));
  return { rps: r.requests.average, p99: r.latency.p99, total: r.requests.total, cpuUs };
}

/** "291 µs (gateway 137, postgres 73, redis-server 45, load generator 33)": parts of at least 1 µs. */
function formatCpu(cpuUs: Map<string, number>): string {
  const parts = [...cpuUs].filter(([, us]) => us >= 1).sort((a, b) => b[1] - a[1]);
  const total = parts.reduce((sum, [, us]) => sum + us, 0);
  return `${fmt(total)} µs (${parts.map(([k, us]) => `${k} ${fmt(us)}`).join(", ")})`;
}

export async function runB3(ctx: BenchContext): Promise<void> {
  const { api, key } = await ctx.stack();
  // A completed job to poll; then no worker, so the submits only queue.
  await ctx.useWorker();
  const { jobId } = await submitScrape(api.api, key, { urls: [{ url: ctx.fixtures.article(3000) }] });
  const done = await pollScrape(api.api, key, jobId, { intervalMs: 100, timeoutMs: 60_000 });
  if (done.status !== "completed") throw new Error(`B3 seed job ${done.status}`);
  await ctx.stopWorker();

  const prefix = `bench-bare-${randomUUID().slice(0, 8)}`;
  usedPrefixes.add(prefix);
  const port = await freePort();
  const bare = spawn(
    process.execPath,
    ["--import", "tsx", "bench/lib/bare-gateway.ts", JSON.stringify({ redisUrl: REDIS_URL, prefix, port })],
    { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] },
  );
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    await new Promise<void>((resolve, reject) => {
      bare.stdout.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
      bare.once("exit", (code) => reject(new Error(`bare gateway exited ${code}`)));
    });
    // The bare poll returns the very bytes our poll returns.
    const pollBody = await (await fetch(`${api.api}/scrape/${jobId}`, { headers: { "x-api-key": key } })).text();
    const bareId = randomUUID();
    await redis.set(`${prefix}:result:${bareId}`, pollBody);

    const body = JSON.stringify({ urls: [{ url: ctx.fixtures.article(3001) }] });
    const json = { "content-type": "application/json" };
    const s = ctx.options.b3Seconds;
    const barePid = bare.pid ?? -1;
    const ourPollRun = () =>
      load({ url: `${api.api}/scrape/${jobId}`, method: "GET", headers: { "x-api-key": key }, pid: api.pid }, s);
    const barePollRun = () =>
      load({ url: `http://127.0.0.1:${port}/poll/${bareId}`, method: "GET", headers: {}, pid: barePid }, s);
    const ourSubmitRun = () =>
      load({ url: `${api.api}/scrape`, method: "POST", headers: { ...json, "x-api-key": key }, body, pid: api.pid }, s);
    const bareSubmitRun = () =>
      load({ url: `http://127.0.0.1:${port}/submit`, method: "POST", headers: json, body, pid: barePid }, s);
    const keys = (await createBenchAccounts(50)).map((a) => a.key);
    const spreadSubmitRun = () =>
      load({ url: `${api.api}/scrape`, method: "POST", headers: json, body, keys, pid: api.pid }, s);

    // Rounds of both sides back to back, the side that goes first alternating. Polls first, before
    // the submits fill the jobs table.
    const polls = [];
    for (let r = 0; r < ctx.options.b3Rounds; r++) {
      const [ours, bare] = await inRoundOrder<[Load, Load]>(r, [ourPollRun, barePollRun]);
      polls.push({ ours, bare, ratio: ours.rps / bare.rps });
    }
    const submits = [];
    for (let r = 0; r < ctx.options.b3Rounds; r++) {
      // The bare route between our two runs, whichever goes first.
      const [ours, bare, spread] = await inRoundOrder<[Load, Load, Load]>(r, [
        ourSubmitRun,
        bareSubmitRun,
        spreadSubmitRun,
      ]);
      // Tens of thousands of queued jobs: ended (no later worker may run them) before the next round.
      await failUnfinishedJobs();
      submits.push({ ours, spread, bare, ratio: ours.rps / bare.rps, spreadRatio: spread.rps / bare.rps });
    }

    const submit = medianRound(submits, (x) => x.ratio);
    const spread = medianRound(submits, (x) => x.spreadRatio);
    const poll = medianRound(polls, (x) => x.ratio);
    reportRatio({
      id: "B3",
      what: "submit req/s",
      ours: `orbweaver ${fmt(submit.ours.rps)} (p99 ${fmt(submit.ours.p99)} ms)`,
      theirs: `bare fastify+bullmq ${fmt(submit.bare.rps)} (p99 ${fmt(submit.bare.p99)} ms)`,
      ratio: submit.ratio,
      target: { op: "≥", value: 0.5 },
    });
    reportRatio({
      id: "B3",
      what: "poll req/s",
      ours: `orbweaver ${fmt(poll.ours.rps)} (p99 ${fmt(poll.ours.p99)} ms)`,
      theirs: `bare fastify+redis ${fmt(poll.bare.rps)} (p99 ${fmt(poll.bare.p99)} ms)`,
      ratio: poll.ratio,
      target: { op: "≥", value: 0.7 },
    });
    note(
      `median of ${submits.length} rounds (each both sides, alternating which goes first): submit ${submits.map((x) => fmt(x.ratio, 2)).join(", ")}; poll ${polls.map((x) => fmt(x.ratio, 2)).join(", ")}`,
    );
    note(
      `submit with one account per connection (50 accounts): ${fmt(spread.spread.rps)} req/s (p99 ${fmt(spread.spread.p99)} ms) → ratio ${fmt(spread.spreadRatio, 2)} (median; rounds ${submits.map((x) => fmt(x.spreadRatio, 2)).join(", ")})`,
    );
    note(
      `CPU per submit (median round): orbweaver ${formatCpu(submit.ours.cpuUs)} / bare ${formatCpu(submit.bare.cpuUs)}`,
    );
    note(
      `autocannon, 50 connections, ${s} s per side after a warm-up; all answers 2xx; poll body ${pollBody.length} bytes on both sides`,
    );
  } finally {
    redis.disconnect();
    bare.kill("SIGTERM");
    await failUnfinishedJobs();
  }
}
