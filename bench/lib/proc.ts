// Process-tree accounting from Linux /proc: a process and all its descendants (a worker and its
// Chromium, or the Crawlee process and its Chromium).
import { readdir, readFile } from "node:fs/promises";

/** USER_HZ and the page size on Linux x86-64 / arm64. */
const CLOCK_TICKS = 100;
const PAGE_BYTES = 4096;

interface ProcStat {
  pid: number;
  /** The command name (`/proc/<pid>/comm`: postgres, redis-server, node…). */
  comm: string;
  ppid: number;
  /** utime + stime + cutime + cstime, in ticks: own CPU and that of reaped children. */
  cpuTicks: number;
  /** utime + stime, in ticks: the process's own CPU. */
  ownTicks: number;
  rssBytes: number;
}

async function readStat(pid: number): Promise<ProcStat | undefined> {
  const raw = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (!raw) return undefined;
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const f = raw.slice(raw.lastIndexOf(")") + 2).split(" ");
  const n = (i: number) => Number(f[i] ?? 0);
  // f[0] is field 3 (state): ppid field 4, utime 14, stime 15, cutime 16, cstime 17, rss 24.
  return {
    pid,
    comm: raw.slice(raw.indexOf("(") + 1, raw.lastIndexOf(")")),
    ppid: n(1),
    cpuTicks: n(11) + n(12) + n(13) + n(14),
    ownTicks: n(11) + n(12),
    rssBytes: n(21) * PAGE_BYTES,
  };
}

async function allStats(): Promise<ProcStat[]> {
  const entries = await readdir("/proc");
  const stats = await Promise.all(entries.filter((e) => /^\d+$/.test(e)).map((e) => readStat(Number(e))));
  return stats.filter((s): s is ProcStat => s !== undefined);
}

/** The process `root` and its live descendants. */
export async function processTree(root: number): Promise<ProcStat[]> {
  const stats = await allStats();
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const tree: ProcStat[] = [];
  const rootStat = stats.find((s) => s.pid === root);
  if (!rootStat) return tree;
  const stack = [rootStat];
  while (stack.length > 0) {
    const s = stack.pop() as ProcStat;
    tree.push(s);
    stack.push(...(children.get(s.pid) ?? []));
  }
  return tree;
}

/**
 * CPU seconds used so far by the tree: live processes' own time plus the time of children they
 * reaped (Chromium renderers that exited). Take the difference of two readings.
 */
export async function treeCpuSeconds(root: number): Promise<number> {
  const tree = await processTree(root);
  return tree.reduce((sum, s) => sum + s.cpuTicks, 0) / CLOCK_TICKS;
}

/**
 * CPU seconds used so far (own time) by each of `pids` (named) and by all processes of each command
 * name in `commands` (e.g. every postgres backend), keyed by those names; take the difference of two
 * readings. A process that ends between two readings drops out of the second.
 */
export async function cpuSecondsOf(opts: {
  pids: Record<string, number>;
  commands: string[];
}): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const names = new Map(Object.entries(opts.pids).map(([name, pid]) => [pid, name]));
  for (const s of await allStats()) {
    const name = names.get(s.pid) ?? (opts.commands.includes(s.comm) ? s.comm : undefined);
    if (name) out.set(name, (out.get(name) ?? 0) + s.ownTicks / CLOCK_TICKS);
  }
  return out;
}

/** Sum of the resident set sizes of the tree (shared pages count once per process). */
export async function treeRssBytes(root: number): Promise<number> {
  const tree = await processTree(root);
  return tree.reduce((sum, s) => sum + s.rssBytes, 0);
}

/** Samples the tree's RSS every `intervalMs` until stopped; resolves the peak. */
export function samplePeakRss(root: number, intervalMs = 100): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await treeRssBytes(root));
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      peak = Math.max(peak, await treeRssBytes(root));
      return peak;
    },
  };
}

/**
 * What a process of a tree is, from its command line: a Chromium process type, or the root's
 * runtime; undefined while it cannot tell (an exiting process shows an empty command line).
 */
async function processKind(pid: number): Promise<string | undefined> {
  const raw = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  if (raw === "") return undefined;
  const args = raw.split("\0");
  // Zygote-forked processes rewrite their title: the whole command line may be one string.
  const type = /--type=([\w-]+)/.exec(args.join(" "))?.[1];
  if (type) return type === "gpu-process" ? "gpu" : type;
  return /chrom/.test(args[0]?.split(" ")[0] ?? "") ? "browser" : "node";
}

/**
 * Samples the CPU of each process of the tree every `intervalMs` until stopped; resolves CPU
 * seconds per kind of process (node, browser, renderer, gpu, utility, zygote) over the sampling.
 * Own time only, the last reading of each process (a renderer's last few ms are lost, as are those
 * of processes that start and end between two readings); processes alive at the start count from
 * their first reading.
 */
export function sampleCpuByKind(root: number, intervalMs = 50): { stop(): Promise<Map<string, number>> } {
  const first = new Map<number, number>();
  const last = new Map<number, { kind: string; ticks: number }>();
  let running = true;
  const read = async (initial: boolean) => {
    for (const s of await processTree(root)) {
      const ticks = s.ownTicks;
      if (initial) first.set(s.pid, ticks);
      // Read each time: a child forked before its exec still shows its parent's command line.
      const kind = (await processKind(s.pid)) ?? last.get(s.pid)?.kind ?? "node";
      last.set(s.pid, { kind, ticks });
    }
  };
  const loop = (async () => {
    await read(true);
    while (running) {
      await new Promise((r) => setTimeout(r, intervalMs));
      await read(false);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      const byKind = new Map<string, number>();
      for (const [pid, { kind, ticks }] of last) {
        byKind.set(kind, (byKind.get(kind) ?? 0) + (ticks - (first.get(pid) ?? 0)) / CLOCK_TICKS);
      }
      return byKind;
    },
  };
}

/** "renderer 12.6 s, browser 8.1 s, …", largest first. */
export function formatCpuByKind(byKind: Map<string, number>): string {
  return [...byKind]
    .sort((a, b) => b[1] - a[1])
    .map(([kind, s]) => `${kind} ${s.toFixed(1)} s`)
    .join(", ");
}
