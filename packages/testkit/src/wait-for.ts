// Polling helper for eventually-consistent assertions (job state, queue
// drains). Polls sequentially, never overlapping, so a slow probe can't pile up.

export interface WaitForOptions {
  /** Default 10 000 ms. */
  timeoutMs?: number;
  /** Delay between probes, default 50 ms. */
  intervalMs?: number;
  /** Describes what was awaited; included in the timeout error. */
  message?: string;
}

/**
 * Calls `fn` until it returns something other than undefined, null or false,
 * and resolves with that value. Errors thrown by `fn` count as "not yet";
 * the last one is reported if the wait times out.
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  opts: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  let lastError: unknown;
  let lastValue: unknown;
  for (;;) {
    attempts++;
    try {
      const value = await fn();
      if (value !== undefined && value !== null && value !== false) return value;
      lastValue = value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, remaining)));
  }
  const what = opts.message ?? "condition";
  const last =
    lastError !== undefined
      ? `last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`
      : `last value: ${String(lastValue)}`;
  throw new Error(`waitFor timed out after ${timeoutMs}ms (${attempts} attempts) waiting for ${what}; ${last}`, {
    cause: lastError,
  });
}

/** Resolves as `work` does, or fails after `ms`: "not a hang" needs a bound, however generous. */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, hung]);
  } finally {
    clearTimeout(timer);
  }
}
