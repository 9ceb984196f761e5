import type { BrowserPool, CaptchaSolver, EgressProxy } from "@orbweaver/browser";
import type { Semaphore } from "async-mutex";
import type { Config } from "@orbweaver/config";
import type { Db } from "@orbweaver/db";
import type { Llm, MarkdownConverter } from "@orbweaver/extract";
import type { JobSecretsStore } from "@orbweaver/queue";
import type { BlobStore } from "@orbweaver/storage";
import type { ProxyRouter } from "./proxy-router.ts";
import type { Logger } from "pino";

/** What a job processor needs; built once per worker process. */
export interface WorkerContext {
  config: Config;
  db: Db;
  pool: BrowserPool;
  egress: EgressProxy;
  markdown: MarkdownConverter;
  /** The Markdown pool's twin for PDFs (`convertPdf`), in a child process with a memory watch. */
  pdfs: MarkdownConverter;
  /** null when no model is configured (AI requests then return raw Markdown, flagged). */
  llm: Llm | null;
  blobs: BlobStore;
  /** Upstream proxy per egress tag (`useProxy`). */
  proxies: ProxyRouter;
  /** Sealed per-job secrets (cookies), never stored in Postgres or the job data. */
  secrets: JobSecretsStore;
  /** Whether the gateway took a dispatched job back (its submit was refused or not written). */
  isWithdrawn(jobId: string): Promise<boolean>;
  /** CAPTCHA solver provider client; null when CAPTCHA_SOLVER is none (walls are reported as blocked). */
  captchaSolver: CaptchaSolver | null;
  log: Logger;
  /**
   * WORKER_CONCURRENCY slots: a scrape job holds one from its claim until its pages are read. The
   * worker takes twice as many jobs from the queue, so building a result (the model call) and
   * writing it run beside other jobs' pages instead of keeping the browser waiting.
   */
  browserSlots: Semaphore;
  /**
   * True once the worker's shutdown ran past SHUTDOWN_TIMEOUT_MS and closed the browser under the
   * jobs still running: their failures are the shutdown's, not the page's, so they are handed back
   * to the queue for another worker instead of being settled (or spending an attempt).
   */
  cutShort(): boolean;
}

/** A failure worth another attempt (browser crash, infrastructure); everything else is final. */
export class TransientJobError extends Error {
  override name = "TransientJobError";
}
