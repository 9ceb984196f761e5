// Process-tree accounting from Linux /proc: a process and all its descendants (a worker and its
// Chromium, or the Crawlee process and its Chromium).
import { readdir, readFile } from "node:fs/promises";

/** USER_HZ and the page size on Linux x86-64 / arm64. */
const CLOCK_TICKS = 100;
const PAGE_BYTES = 4096;

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in ticks: own CPU and that of reaped children. */
  cpuTicks: number;
  rssBytes: number;
}

async function readStat(pid: number): Promise<ProcStat | undefined> {
  const raw = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (!raw) return undefined;
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const f = raw.slice(raw.lastIndexOf(")") + 2).split(" ");
  const n = (i: number) => Number(f[i] ?? 0);
  // f[0] is field 3 (state): ppid field 4, utime 14, stime 15, cutime 16, cstime 17, rss 24.
  return { pid, ppid: n(1), cpuTicks: n(11) + n(12) + n(13) + n(14), rssBytes: n(21) * PAGE_BYTES };
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
