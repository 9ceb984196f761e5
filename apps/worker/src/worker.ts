import { accessSync, constants, statSync } from "node:fs";
import { BrowserPool, createCaptchaSolver, startEgressProxy } from "@orbweaver/browser";
import { createBlobStore } from "@orbweaver/storage";
import { loggerOptions, type Config } from "@orbweaver/config";
import { createDb, getInstanceSecret, getJob, UNFINISHED } from "@orbweaver/db";
import { createLlm, createMarkdownConverter } from "@orbweaver/extract";
import {
  closeQueuesAndConnection,
  createJobSecretsStore,
  createRedisConnection,
  createScrapeQueue,
  dispatchBatch,
  isScrapeJobWithdrawn,
  SCRAPE_QUEUE,
  type ScrapeJobData,
} from "@orbweaver/queue";
import { Semaphore } from "async-mutex";
import { Worker } from "bullmq";
import { pino, type Logger } from "pino";
import { startCrawlWorker } from "./crawl/start-crawl-worker.ts";
import { drainCrawlWebhooks } from "./crawl/webhook-sender.ts";
import { processScrapeJob } from "./process-scrape-job.ts";
import { createProxyRouter } from "./proxy-router.ts";
import { startRetentionSweeper } from "./retention-sweeper.ts";
import { startReconciler } from "./reconciler.ts";
import type { WorkerContext } from "./worker-context.ts";

/**
 * How long, past SHUTDOWN_TIMEOUT_MS, the jobs whose browser was closed under them get to hand
 * themselves back to the queue (a database write and a Redis call each) before the worker stops anyway.
 */
const HAND_BACK_MS = 2000;

/** How much the PDF reader's process may grow while one PDF is read (its streams inflated) before it is stopped. */
const PDF_MEMORY_GROWTH_BYTES = 512 * 1024 * 1024;

/**
 * A worker without a browser would take jobs only to fail them: a CHROMIUM_PATH that is no
 * executable file stops the start, naming the setting.
 */
function assertChromium(path: string): void {
  try {
    if (!statSync(path).isFile()) throw new Error("not a file");
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(
      `CHROMIUM_PATH: "${path}" is not an executable file (install Chromium, e.g. \`apt-get install -y chromium\`, or point CHROMIUM_PATH at its binary)`,
    );
  }
}

/** Starts a scrape worker: one Chromium, an egress proxy, a BullMQ consumer, the reconciler and the retention sweeper (BLOB_RETENTION_MS, JOB_RETENTION_MS). */
export async function startWorker(
  config: Config,
  opts: { logger?: Logger } = {},
): Promise<{ close(): Promise<void>; context: WorkerContext }> {
  assertChromium(config.chromiumPath);
  const log = opts.logger ?? pino(loggerOptions(config, "worker"));
  const dbHandle = createDb({
    url: config.databaseUrl,
    max: config.workerConcurrency * 2 + 2,
    statementTimeoutMs: config.dbStatementTimeoutMs,
  });
  const proxies = createProxyRouter(config.proxyPool, log);
  const egress = await startEgressProxy({
    policy: config.network,
    log,
    resolveUpstream: (tag) => proxies.upstreamFor(tag),
    onUpstreamError: (failure) => proxies.onUpstreamError(failure),
  });
  const pool = new BrowserPool({
    executablePath: config.chromiumPath,
    egress,
    recycleAfterContexts: config.jobs.browserRecyclePages,
    warmContexts: config.jobs.browserWarmContexts,
    log,
  });
  const markdown = createMarkdownConverter({ maxThreads: 1 });
  // PDFs in a process of their own, so reading one never holds up a page's Markdown, and a PDF
  // whose streams inflate past this is stopped, its memory handed back, not kept by the worker.
  const pdfs = createMarkdownConverter({
    maxThreads: 1,
    isolation: "process",
    maxMemoryGrowthBytes: PDF_MEMORY_GROWTH_BYTES,
  });
  const llm = createLlm({
    baseUrl: config.llm.baseUrl,
    apiKey: config.llm.apiKey,
    model: config.llm.model,
    timeoutMs: config.llm.timeoutMs,
    structuredOutput: config.llm.structuredOutput,
    // One retry inside the client; the queue's own attempts are for browser failures.
    maxRetries: 1,
    log,
  });
  const blobs = await createBlobStore(config);
  const workerConnection = createRedisConnection(config.redisUrl, "worker");
  const producerConnection = createRedisConnection(config.redisUrl, "worker");
  const secrets = createJobSecretsStore({
    redis: producerConnection,
    prefix: config.queuePrefix,
    secret: await getInstanceSecret(dbHandle.db, config.secret),
  });
  let cutShort = false;
  const context: WorkerContext = {
    config,
    db: dbHandle.db,
    pool,
    egress,
    markdown,
    pdfs,
    llm,
    blobs,
    proxies,
    secrets,
    isWithdrawn: (jobId) => isScrapeJobWithdrawn(producerConnection, config.queuePrefix, jobId),
    captchaSolver:
      config.captcha.solver === "createtask" && config.captcha.url && config.captcha.key
        ? createCaptchaSolver({
            baseUrl: config.captcha.url,
            apiKey: config.captcha.key,
            timeoutMs: config.captcha.timeoutMs,
            pollIntervalMs: config.captcha.pollIntervalMs,
          })
        : null,
    log,
    browserSlots: new Semaphore(config.workerConcurrency),
    cutShort: () => cutShort,
  };
  const queue = createScrapeQueue({
    connection: producerConnection,
    prefix: config.queuePrefix,
    attempts: config.jobs.attempts,
  });
  // After every attempt: a finished job's sealed cookies are deleted, and a batch gets its next items.
  // A job without a row keeps them: a row written after the worker gave up waiting is dispatched again
  // by the reconciler and runs with them (a withdrawn job's are deleted by the gateway; the rest expire).
  const topUpBatch = async (jobId: string) => {
    const row = await getJob(dbHandle.db, jobId);
    if (row && !(UNFINISHED as readonly string[]).includes(row.status)) await secrets.delete(jobId);
    if (row?.batchId) {
      await dispatchBatch(dbHandle.db, queue, { batchId: row.batchId, concurrency: config.limits.batchConcurrency });
    }
  };
  // Top-ups run beside the next job rather than before it: the slot is free as soon as the job's
  // own work is written. Shutdown waits for the ones still running.
  const topUps = new Set<Promise<void>>();
  const worker = new Worker<ScrapeJobData>(
    SCRAPE_QUEUE,
    async (job, token) => {
      try {
        await processScrapeJob(context, job, token);
      } finally {
        const topUp = topUpBatch(job.data.jobId).catch((err: unknown) => log.warn({ err }, "batch top-up failed"));
        topUps.add(topUp);
        void topUp.finally(() => topUps.delete(topUp));
      }
    },
    {
      connection: workerConnection,
      prefix: config.queuePrefix,
      // Half of them at most in the browser (browserSlots); the others building or writing a result.
      concurrency: config.workerConcurrency * 2,
      lockDuration: config.jobs.lockMs,
      stalledInterval: config.jobs.stalledIntervalMs,
      maxStalledCount: 2,
    },
  );
  worker.on("error", (err) => log.warn({ err }, "worker connection error"));
  const crawlWorker = startCrawlWorker(context);

  const reconciler = startReconciler({
    db: dbHandle.db,
    queue,
    crawlQueue: crawlWorker.queue,
    redis: producerConnection,
    log,
    intervalMs: config.jobs.reconcileIntervalMs,
    staleMs: config.jobs.jobTimeoutMs + config.jobs.lockMs * 2,
    // A queued job the queue does not know for two lock periods was lost (flush, restart, outage).
    queuedStaleMs: config.jobs.lockMs * 2,
    maxAttempts: config.jobs.attempts + 2,
    batchConcurrency: config.limits.batchConcurrency,
    lockKey: `${config.queuePrefix}:reconciler-lock`,
    onCrawlGivenUp: crawlWorker.announceFailure,
  });
  const { filesMaxAgeMs, workMaxAgeMs, sweepIntervalMs } = config.retention;
  const retention =
    filesMaxAgeMs > 0 || workMaxAgeMs > 0
      ? startRetentionSweeper({
          files: filesMaxAgeMs > 0 ? { blobs, maxAgeMs: filesMaxAgeMs } : undefined,
          work: workMaxAgeMs > 0 ? { db: dbHandle.db, maxAgeMs: workMaxAgeMs } : undefined,
          redis: producerConnection,
          log,
          intervalMs: sweepIntervalMs,
          lockKey: `${config.queuePrefix}:retention-sweep-lock`,
        })
      : undefined;
  await worker.waitUntilReady();
  await crawlWorker.worker.waitUntilReady();
  log.info({ concurrency: config.workerConcurrency }, "worker ready");

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const deadline = Date.now() + config.jobs.shutdownTimeoutMs;
      reconciler.stop();
      retention?.stop();
      // Finish running jobs within the deadline; past it, cut them short and hand them to another worker.
      const graceful = Promise.all([worker.close(), crawlWorker.close()]);
      // Jobs taken but still waiting for a browser slot go back to the queue unclaimed.
      context.browserSlots.cancel();
      const within = (ms: number) =>
        Promise.race([graceful.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
      const timedOut = !(await within(config.jobs.shutdownTimeoutMs));
      if (timedOut) {
        // BullMQ's close(true) after a close() only awaits that close: it cannot force it. The jobs
        // still running are cut short instead: the browser closes under them, and each hands its job
        // back to the queue (unsettled, its attempt not spent) while the consumer's connection is
        // still open, which ends the consumer's close. One that is not in the browser (a model call,
        // a plain HTTP read) and does not end in time is left to stall detection.
        cutShort = true;
        await pool.close();
        if (!(await within(HAND_BACK_MS))) log.warn("jobs still running at shutdown are left to stall detection");
      }
      // Webhook events of crawls that ended (a failed delivery waiting for its retry) get what is
      // left of the deadline, while the database (the signing secret) is still open.
      await Promise.race([
        drainCrawlWebhooks(),
        new Promise<void>((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref()),
      ]);
      await Promise.all(topUps);
      await pool.close();
      await egress.close();
      await markdown.close();
      await pdfs.close();
      await closeQueuesAndConnection(producerConnection, [queue]);
      await crawlWorker.disconnect();
      workerConnection.disconnect();
      await dbHandle.close();
      await blobs.close();
      log.info({ forced: timedOut }, "worker stopped");
    })());
  return { close, context };
}
