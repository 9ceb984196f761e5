// Small numeric helpers and the one-line report format every bench prints.

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i] as number;
}

export const median = (xs: number[]): number => percentile(xs, 50);

/**
 * Runs the sides of round `round` one after the other, in the order given in even rounds and in the
 * reverse order in odd ones (so a drift of the machine's speed favours no side); answers in the
 * order given.
 */
export async function inRoundOrder<T extends unknown[]>(
  round: number,
  sides: { [K in keyof T]: () => Promise<T[K]> },
): Promise<T> {
  const order = sides.map((_, i) => i);
  if (round % 2 === 1) order.reverse();
  const results: unknown[] = [];
  for (const i of order) results[i] = await (sides[i] as () => Promise<unknown>)();
  return results as T;
}

/** The round whose ratio is the median of all the rounds' ratios (the lower middle one of an even count). */
export function medianRound<T>(rounds: T[], ratio: (round: T) => number): T {
  const sorted = [...rounds].sort((a, b) => ratio(a) - ratio(b));
  const mid = sorted[Math.ceil(sorted.length / 2) - 1];
  if (mid === undefined) throw new Error("no rounds");
  return mid;
}

/** Least-squares slope of log(y) against log(x): the scaling exponent (1 = linear). */
export function logLogSlope(points: Array<[number, number]>): number {
  const pts = points.map(([x, y]) => [Math.log(x), Math.log(y)] as const);
  const mx = pts.reduce((s, [x]) => s + x, 0) / pts.length;
  const my = pts.reduce((s, [, y]) => s + y, 0) / pts.length;
  const num = pts.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = pts.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return num / den;
}

export function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "n/a";
}

export const mib = (bytes: number): string => `${fmt(bytes / 1024 / 1024)} MiB`;

/** Every ratio line a run printed, for the summary at the end. */
export const ratioLines: string[] = [];

/** Prints and records one ratio line: `B1 scrape p50: orbweaver 212 ms / playwright 198 ms = 1.07 (target ≤ 1.10)`. */
export function reportRatio(opts: {
  id: string;
  what: string;
  ours: string;
  theirs: string;
  ratio: number;
  target?: { op: "≤" | "≥"; value: number };
}): void {
  const { id, what, ours, theirs, ratio, target } = opts;
  let verdict = "";
  if (target) {
    const met = target.op === "≤" ? ratio <= target.value : ratio >= target.value;
    verdict = ` (target ${target.op} ${target.value}: ${met ? "met" : "MISSED"})`;
  }
  const line = `${id} ${what}: ${ours} / ${theirs} = ${fmt(ratio, 2)}${verdict}`;
  ratioLines.push(line);
  console.log(line);
}

/** A detail line, indented under the bench's ratio lines. */
export function note(text: string): void {
  console.log(`   ${text}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
