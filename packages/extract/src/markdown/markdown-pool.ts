// Runs convertHtmlToMarkdown in worker threads so a multi-MB page (hundreds of
// ms to seconds of CPU) never blocks the caller's event loop, where BullMQ
// job-lock renewals must keep firing.
//
// A small purpose-built pool rather than piscina because the timeout must
// count only the time a conversion actually runs: with piscina an AbortSignal
// timer also covers time spent queued behind other pages, so a busy worker
// would time out innocent conversions. Each timed-out conversion terminates
// its thread (a synchronous turndown loop cannot be interrupted otherwise).
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { HtmlToMarkdownOptions, MarkdownResult } from "./html-to-markdown.ts";
import type { WorkerRequest, WorkerResponse } from "./markdown-worker.ts";

/** Plain-JS entry that loads the TypeScript worker through tsx (see that file for why). */
const WORKER_ENTRY = new URL("./markdown-worker.mjs", import.meta.url);

export class MarkdownTimeoutError extends Error {
  override name = "MarkdownTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`HTML to Markdown conversion did not finish within ${timeoutMs} ms`);
  }
}

export class MarkdownConverterClosedError extends Error {
  override name = "MarkdownConverterClosedError";
  constructor() {
    super("Markdown converter is closed");
  }
}

/** A conversion whose process grew past `maxMemoryGrowthBytes`; the process was killed. */
export class MarkdownMemoryError extends Error {
  override name = "MarkdownMemoryError";
  constructor(readonly limitBytes: number) {
    super(`The conversion needed more than ${Math.round(limitBytes / 1024 / 1024)} MB of memory`);
  }
}

export interface MarkdownConverterOptions {
  /** Worker threads to run conversions on; default 1. */
  maxThreads?: number;
  /**
   * Per-conversion limit in ms, counted from when a ready thread starts on
   * the page (excludes queueing and thread start-up); default 30000.
   */
  timeoutMs?: number;
  /**
   * `thread` (default): worker threads. `process`: child processes, whose memory is their own, so it
   * can be watched and is handed back to the system when one is killed (a PDF can inflate a small
   * file into gigabytes of streams, which a thread's heap limit does not cover).
   */
  isolation?: "thread" | "process";
  /**
   * With `process` isolation: while a conversion runs, its process's resident memory is read every
   * 100 ms, and growing by more than this since it started kills the process
   * ({@link MarkdownMemoryError}). Default: no watch.
   */
  maxMemoryGrowthBytes?: number;
}

export interface MarkdownConverter {
  convert(html: string, opts?: HtmlToMarkdownOptions): Promise<MarkdownResult>;
  /**
   * A PDF's text (`markdown`, as it is) and title, read by this pool's threads or processes under
   * the same time limit; rejects with an error named `PdfReadError` for a password-protected or unreadable file.
   */
  convertPdf(bytes: Uint8Array): Promise<MarkdownResult>;
  /** Rejects queued and running conversions and terminates all threads. */
  close(): Promise<void>;
}

/** Loading a worker (tsx compile + libraries) takes ~1 s cold; a hang beyond this is a broken setup. */
const BOOT_TIMEOUT_MS = 60_000;

interface Job {
  request: WorkerRequest;
  resolve(result: MarkdownResult): void;
  reject(err: Error): void;
}

/** What the pool needs of a worker thread or a child process. */
interface Runner {
  postMessage(message: WorkerRequest): void;
  onMessage(fn: (res: WorkerResponse) => void): void;
  onError(fn: (err: Error) => void): void;
  onExit(fn: (code: number | string | null) => void): void;
  terminate(): Promise<unknown>;
  ref(): void;
  unref(): void;
  /** Resident bytes of a child process (Linux `/proc`); undefined for a thread or when unreadable. */
  rss(): number | undefined;
}

function threadRunner(): Runner {
  const worker = new Worker(WORKER_ENTRY);
  return {
    postMessage: (message) => worker.postMessage(message),
    onMessage: (fn) => worker.on("message", fn),
    onError: (fn) => worker.on("error", fn),
    onExit: (fn) => worker.on("exit", fn),
    terminate: () => worker.terminate(),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    rss: () => undefined,
  };
}

function processRunner(): Runner {
  // No inherited flags (a test runner's, --inspect): the entry loads TypeScript through tsx itself.
  const child = fork(fileURLToPath(WORKER_ENTRY), [], {
    execArgv: [],
    serialization: "advanced",
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return {
    postMessage: (message) => void child.send(message),
    onMessage: (fn) => child.on("message", fn as (res: unknown) => void),
    onError: (fn) => child.on("error", fn),
    onExit: (fn) => child.on("exit", (code, signal) => fn(code ?? signal)),
    terminate: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        // An idle child is unref'd; the wait for its exit must keep the caller's loop alive.
        child.ref();
        child.kill("SIGKILL");
      }),
    ref: () => {
      child.ref();
      child.channel?.ref();
    },
    unref: () => {
      child.unref();
      child.channel?.unref();
    },
    rss: () => {
      try {
        const pages = Number(readFileSync(`/proc/${child.pid}/statm`, "latin1").split(" ")[1]);
        return Number.isFinite(pages) ? pages * 4096 : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

interface Slot {
  worker: Runner;
  ready: boolean;
  job: Job | null;
  timer: NodeJS.Timeout | null;
  memoryWatch: NodeJS.Timeout | null;
}

/** How often a running conversion's memory is read. */
const MEMORY_WATCH_MS = 100;

function remoteError(error: { name: string; message: string; stack?: string }): Error {
  const err = new Error(error.message);
  err.name = error.name;
  if (error.stack) err.stack = error.stack;
  return err;
}

export function createMarkdownConverter(opts: MarkdownConverterOptions = {}): MarkdownConverter {
  const maxThreads = Math.max(1, Math.floor(opts.maxThreads ?? 1));
  const timeoutMs = Math.max(1, opts.timeoutMs ?? 30_000);
  const slots = new Set<Slot>();
  const queue: Job[] = [];
  const exits = new Set<Promise<unknown>>();
  let nextId = 1;
  let closed = false;

  /** Removes a slot and kills its thread; the caller settles its job. */
  function retire(slot: Slot): void {
    if (!slots.delete(slot)) return;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    unwatch(slot);
    const exit = slot.worker.terminate().catch(() => undefined);
    exits.add(exit);
    void exit.finally(() => exits.delete(exit));
  }

  function fail(slot: Slot, err: Error): void {
    if (!slots.has(slot)) return;
    const { job, ready } = slot;
    slot.job = null;
    retire(slot);
    job?.reject(err);
    // A thread that cannot even boot (tsx missing, syntax error) would fail
    // again for every queued page; surface the error to the queue instead of
    // respawning in a loop. Conversions running on healthy threads carry on.
    if (!ready) for (const queued of queue.splice(0)) queued.reject(err);
    pump();
  }

  function spawn(): void {
    const worker = opts.isolation === "process" ? processRunner() : threadRunner();
    const slot: Slot = { worker, ready: false, job: null, timer: null, memoryWatch: null };
    slot.timer = setTimeout(
      () => fail(slot, new Error(`Markdown worker did not start within ${BOOT_TIMEOUT_MS} ms`)),
      BOOT_TIMEOUT_MS,
    );
    worker.onMessage((res: WorkerResponse) => {
      // A result can race with a timeout that already retired this thread.
      if (!slots.has(slot)) return;
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = null;
      unwatch(slot);
      if ("ready" in res) {
        slot.ready = true;
      } else {
        const job = slot.job;
        slot.job = null;
        if (job && res.ok) job.resolve(res.result);
        else if (job && !res.ok) job.reject(remoteError(res.error));
      }
      // An idle thread must not keep the process alive if close() is forgotten.
      worker.unref();
      pump();
    });
    // Boot failures, uncaught errors and ERR_WORKER_OUT_OF_MEMORY.
    worker.onError((err) => fail(slot, err));
    worker.onExit((code) => fail(slot, new Error(`Markdown worker exited unexpectedly with code ${code}`)));
    slots.add(slot);
  }

  function start(slot: Slot, job: Job): void {
    slot.job = job;
    slot.worker.ref();
    slot.timer = setTimeout(() => fail(slot, new MarkdownTimeoutError(timeoutMs)), timeoutMs);
    const limit = opts.maxMemoryGrowthBytes;
    const before = limit === undefined ? undefined : slot.worker.rss();
    if (limit !== undefined && before !== undefined) {
      slot.memoryWatch = setInterval(() => {
        const now = slot.worker.rss();
        if (now !== undefined && now - before > limit) fail(slot, new MarkdownMemoryError(limit));
      }, MEMORY_WATCH_MS);
    }
    slot.worker.postMessage(job.request);
  }

  function unwatch(slot: Slot): void {
    if (slot.memoryWatch) clearInterval(slot.memoryWatch);
    slot.memoryWatch = null;
  }

  function pump(): void {
    if (closed) return;
    let booting = 0;
    for (const slot of slots) {
      if (!slot.ready) booting++;
      else if (!slot.job && queue.length > 0) start(slot, queue.shift() as Job);
    }
    // Spawn only for work that the threads already starting cannot absorb.
    while (queue.length > booting && slots.size < maxThreads) {
      spawn();
      booting++;
    }
  }

  function enqueue(request: WorkerRequest): Promise<MarkdownResult> {
    if (closed) return Promise.reject(new MarkdownConverterClosedError());
    return new Promise<MarkdownResult>((resolve, reject) => {
      queue.push({ request, resolve, reject });
      pump();
    });
  }

  return {
    convert(html, convertOpts = {}) {
      // Copy only known fields: anything else might not be structured-cloneable.
      const options: HtmlToMarkdownOptions = {};
      if (convertOpts.baseUrl !== undefined) options.baseUrl = convertOpts.baseUrl;
      if (convertOpts.mainContentOnly !== undefined) options.mainContentOnly = convertOpts.mainContentOnly;
      if (convertOpts.withMetadata !== undefined) options.withMetadata = convertOpts.withMetadata;
      return enqueue({ id: nextId++, html, options });
    },
    convertPdf(bytes) {
      return enqueue({ id: nextId++, pdf: bytes });
    },
    async close() {
      closed = true;
      for (const job of queue.splice(0)) job.reject(new MarkdownConverterClosedError());
      for (const slot of [...slots]) {
        const job = slot.job;
        slot.job = null;
        retire(slot);
        job?.reject(new MarkdownConverterClosedError());
      }
      await Promise.all([...exits]);
    },
  };
}
