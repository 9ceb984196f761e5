/*
 * Preloaded into a spawned process by tests that measure its memory (`--import
 * ./apps/cli/test/helpers/gc-probe.mjs`; plain JavaScript because worker threads inherit the flag
 * and load it before any TypeScript loader). On SIGUSR2 every thread of the process runs a full
 * garbage collection (the main thread tells the others over a BroadcastChannel, gives them
 * COLLECT_MS, then collects its own heap) and the main thread prints one line, `gc-probe {rss,heapTotal,heapUsed,external,
 * arrayBuffers}`, so a test compares what the process keeps rather than when V8 happened to
 * collect. Nothing else of the process changes.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { BroadcastChannel, isMainThread } from "node:worker_threads";

const COLLECT_MS = 300;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc");
const channel = new BroadcastChannel("orbweaver-gc-probe");
channel.unref();

if (isMainThread) {
  process.on("SIGUSR2", () => {
    channel.postMessage("collect");
    setTimeout(() => {
      gc();
      process.stderr.write(`gc-probe ${JSON.stringify(process.memoryUsage())}\n`);
    }, COLLECT_MS);
  });
} else {
  channel.onmessage = () => gc();
}
