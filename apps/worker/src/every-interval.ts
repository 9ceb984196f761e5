/**
 * Runs `pass` every `intervalMs` (and once right away with `immediately`), one pass at a time per
 * process: a pass still running when the next is due (waiting on Redis or Postgres while it is down)
 * makes that one skip, so passes never pile up. A failed pass goes to `onError`; the timers do not
 * keep the process alive. Answers the function that stops it.
 */
export function everyInterval(
  pass: () => Promise<unknown>,
  opts: { intervalMs: number; onError: (err: unknown) => void; immediately?: boolean },
): () => void {
  let inFlight = false;
  const tick = () => {
    if (inFlight) return;
    inFlight = true;
    pass()
      .catch(opts.onError)
      .finally(() => (inFlight = false));
  };
  const first = opts.immediately ? setTimeout(tick, 0) : undefined;
  const timer = setInterval(tick, opts.intervalMs);
  first?.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
