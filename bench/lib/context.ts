// What every bench receives from the runner: the fixtures, one running gateway, an account, and
// the means to (re)start workers with given settings.
import type { BenchFixtures } from "./fixtures.ts";
import type { ApiProc, Proc } from "./stack.ts";

export interface BenchOptions {
  /** Pages per side in B1. */
  b1Pages: number;
  /** Batch sizes in B2. */
  b2Sizes: number[];
  /** Worker concurrencies swept in B5. */
  b5Concurrency: number[];
  /** Pages per concurrency step in B5 (at least 4 × the concurrency). */
  b5Pages: number;
  /** Pages per path in B6. */
  b6Pages: number;
  /** Seconds of each autocannon run in B3. */
  b3Seconds: number;
  /** Largest HTML size in B4, bytes. */
  b4MaxBytes: number;
  /**
   * Rounds of B2: each round measures both sides back to back (the side that goes first
   * alternates), and the ratio printed is the median of the rounds' ratios.
   */
  rounds: number;
  /**
   * Rounds of B3, as for B2. More by default: a round costs about a minute, and B3's rounds of one
   * run spread by ±0.1–0.2 (0.37–0.66 in one run of three), so a median of three can be a lucky draw.
   */
  b3Rounds: number;
  /** Worker concurrency for B1, B2 and B6 (and the Crawlee side of B2). */
  concurrency: number;
}

export interface BenchContext {
  fixtures: BenchFixtures;
  options: BenchOptions;
  /** Lazily started gateway (shared by all benches) and the bench account's key. */
  stack(): Promise<{ api: ApiProc; key: string; env: Record<string, string> }>;
  /** Starts a worker with these setting overrides (after stopping the current one) and warms it up. */
  useWorker(overrides?: Record<string, string>): Promise<Proc>;
  /** Stops the current worker, if any. */
  stopWorker(): Promise<void>;
}
