import type { BrowserContext } from "playwright-core";

/** Options for {@link limitContext}. */
export interface ContextLimits {
  /** Bytes the context has downloaded so far (e.g. the egress proxy's count for its tag). */
  bytesReceived: () => number;
  /** Past this many bytes the context is closed. */
  maxBytes: number;
  /** Epoch ms after which the context is closed whatever it is doing. */
  deadline: number;
  /** How often the byte count is read. Default 100 ms. */
  intervalMs?: number;
}

export interface LimitedContext {
  /** Why the context was closed by a limit (a sentence for the user), or null while within limits. */
  exceeded(): string | null;
  /**
   * Reads the byte count now rather than at the next poll (a fast download can pass the cap and end
   * between two polls): closes the context if it is over, and returns {@link exceeded}.
   */
  check(): string | null;
  /** Stops watching; call when the context is done with. */
  stop(): void;
}

/**
 * Bounds what one page may cost: when the bytes it downloaded pass `maxBytes`, or the job's deadline
 * passes, the context is closed. Closing it makes every pending Playwright call reject at once, so a
 * page that streams 50 MB, or whose renderer never answers, cannot hold the job (or Chromium's memory)
 * past the limit; the caller turns {@link LimitedContext.exceeded} into the URL's error.
 */
export function limitContext(context: BrowserContext, limits: ContextLimits): LimitedContext {
  let reason: string | null = null;
  const trip = (why: string): void => {
    if (reason !== null) return;
    reason = why;
    stop();
    void context.close().catch(() => undefined);
  };
  const checkBytes = (): void => {
    if (limits.bytesReceived() > limits.maxBytes) {
      trip(`The page downloaded more than ${limits.maxBytes} bytes (MAX_PAGE_BYTES); it was cut off`);
    }
  };
  const poll = setInterval(checkBytes, limits.intervalMs ?? 100);
  const deadline = setTimeout(
    () => trip("The job's deadline passed while the page was loading"),
    Math.max(0, limits.deadline - Date.now()),
  );
  // A worker shutting down must not wait for these timers.
  poll.unref();
  deadline.unref();
  function stop(): void {
    clearInterval(poll);
    clearTimeout(deadline);
  }
  return {
    exceeded: () => reason,
    check: () => {
      checkBytes();
      return reason;
    },
    stop,
  };
}
