import { startApi } from "@orbweaver/api";
import type { Config } from "@orbweaver/config";
import { startWorker } from "@orbweaver/worker";

/**
 * Starts the gateway, the worker, or both in one process, and stops them gracefully on SIGTERM or
 * SIGINT (the worker finishes or hands back running jobs before the browser closes).
 */
export async function startServices(config: Config, role: "all" | "api" | "worker"): Promise<void> {
  const closers: Array<() => Promise<void>> = [];
  if (role === "all" || role === "worker") closers.push((await startWorker(config)).close);
  if (role === "all" || role === "api") closers.push((await startApi(config)).close);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`received ${signal}, shutting down\n`);
    // API first (stop taking work), then the worker.
    void (async () => {
      let failed = false;
      for (const close of closers.reverse()) await close().catch(() => (failed = true));
      process.exit(failed ? 1 : 0);
    })();
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}
