import { z } from "zod";

/**
 * The only module that reads the environment. Everything else receives a Config.
 * Every variable is documented in README.md ("Settings").
 */

const bool = (fallback: boolean) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return fallback;
      if (["true", "1", "yes", "on"].includes(v)) return true;
      if (["false", "0", "no", "off"].includes(v)) return false;
      ctx.addIssue({ code: "custom", message: `expected true or false, got "${v}"` });
      return z.NEVER;
    });

const int = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return fallback;
      // Decimal digits only: Number() would also take "0x50" (80), "1e3" or "0b1".
      const n = /^-?\d+$/.test(v) ? Number(v) : NaN;
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `expected an integer from ${min} to ${max}, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const num = (fallback: number, min: number) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return fallback;
      // A decimal number ("0.5", "2", "1e3"); Number() would also take "0x10".
      const n = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v) ? Number(v) : NaN;
      if (!Number.isFinite(n) || n < min) {
        ctx.addIssue({ code: "custom", message: `expected a number >= ${min}, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const url = (fallback: string | undefined, protocols: string[]) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      const value = v === undefined || v === "" ? fallback : v;
      if (value === undefined) return undefined;
      try {
        const parsed = new URL(value);
        if (!protocols.includes(parsed.protocol)) throw new Error("protocol");
        return value;
      } catch {
        ctx.addIssue({ code: "custom", message: `expected a ${protocols.join(" or ")} URL, got "${value}"` });
        return z.NEVER;
      }
    });

const str = (fallback: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === "" ? fallback : v.trim()));

/** One of the integers `allowed`; empty or unset is `fallback`. */
const intOneOf = <T extends number>(fallback: T, allowed: readonly T[]) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return fallback;
      const n = (/^\d+$/.test(v) ? Number(v) : NaN) as T;
      if (!allowed.includes(n)) {
        ctx.addIssue({ code: "custom", message: `expected ${allowed.join(" or ")}, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

/**
 * The bootstrap account's key: the first start creates an account owning it, so a short or
 * placeholder value (the one `.env.example` once carried) would be a key anyone could guess.
 */
const bootstrapKey = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const value = v?.trim();
    if (!value) return undefined;
    if (value.length < 20 || /change_?me/i.test(value)) {
      ctx.addIssue({
        code: "custom",
        message: "expected a long random secret (at least 20 characters, not a placeholder)",
      });
      return z.NEVER;
    }
    return value;
  });

const optionalStr = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s.length > 0),
  );

/** ALLOW_HOSTS: `host` or `host:port` entries; a URL or a wildcard would silently match nothing. */
const hostList = list.superRefine((entries, ctx) => {
  for (const entry of entries) {
    if (/[/@\s*?#]/.test(entry) || /^[^[\]:]+:(?!\d{1,5}$)/.test(entry)) {
      ctx.addIssue({ code: "custom", message: `expected host or host:port entries, got "${entry}"` });
    }
  }
});

const level = z
  .string()
  .trim()
  .optional()
  .transform((v, ctx) => {
    const value = v === undefined || v === "" ? "info" : v;
    const levels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
    if (!(levels as readonly string[]).includes(value)) {
      ctx.addIssue({ code: "custom", message: `expected one of ${levels.join(", ")}, got "${value}"` });
      return z.NEVER;
    }
    return value as (typeof levels)[number];
  });

const envSchema = z.object({
  DATABASE_URL: url("postgres://postgres@127.0.0.1:5432/orbweaver", ["postgres:", "postgresql:"]),
  DB_STATEMENT_TIMEOUT_MS: int(30_000, 0, 3_600_000),
  REDIS_URL: url("redis://127.0.0.1:6379", ["redis:", "rediss:"]),
  PORT: int(8080, 0, 65535),
  HOST: str("0.0.0.0"),
  PUBLIC_URL: url(undefined, ["http:", "https:"]),
  API_PREFIX: str("/api").refine((v) => /^\/?[A-Za-z0-9._~\-/]*$/.test(v), {
    message: "expected a URL path such as /api (letters, digits, - . _ ~ and /)",
  }),
  LOG_LEVEL: level,
  DATA_DIR: str("./data"),
  STORAGE_DRIVER: z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((v, ctx) => {
      const value = v === undefined || v === "" ? "local" : v;
      if (value !== "local" && value !== "s3") {
        ctx.addIssue({ code: "custom", message: `expected local or s3, got "${value}"` });
        return z.NEVER;
      }
      return value as "local" | "s3";
    }),
  S3_BUCKET: optionalStr.refine((v) => v === undefined || !/[\s/]/.test(v), "a bucket name has no slash or space"),
  S3_REGION: str("us-east-1"),
  S3_ENDPOINT: url(undefined, ["http:", "https:"]),
  S3_ACCESS_KEY_ID: optionalStr,
  S3_SECRET_ACCESS_KEY: optionalStr,
  S3_FORCE_PATH_STYLE: bool(false),
  S3_PREFIX: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const value = (v ?? "").trim().replace(/^\/+|\/+$/g, "");
      if (value && (!/^[A-Za-z0-9][A-Za-z0-9._\-/]*$/.test(value) || value.split("/").some((p) => p === ".." || !p))) {
        ctx.addIssue({ code: "custom", message: `expected a key prefix like "orbweaver/blobs", got "${v}"` });
        return z.NEVER;
      }
      return value;
    }),
  CHROMIUM_PATH: str("/usr/bin/chromium"),
  WORKER_CONCURRENCY: int(2, 1, 64),
  ALLOW_PRIVATE_NETWORK: bool(false),
  ALLOW_HOSTS: hostList,
  OPENAI_BASE_URL: url(undefined, ["http:", "https:"]),
  OPENAI_API_KEY: optionalStr,
  LLM_MODEL: str("gpt-4o-mini"),
  LLM_TIMEOUT_MS: int(60_000, 1000),
  LLM_INPUT_BUDGET_TOKENS: int(24_000, 500),
  LLM_MAX_CHUNKS: int(8, 1, 100),
  LLM_STRUCTURED_OUTPUT: z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((v, ctx) => {
      const value = v === undefined || v === "" ? "auto" : v;
      if (value !== "auto" && value !== "json_schema" && value !== "json_object") {
        ctx.addIssue({ code: "custom", message: `expected auto, json_schema or json_object, got "${value}"` });
        return z.NEVER;
      }
      return value as "auto" | "json_schema" | "json_object";
    }),
  CREDITS_PER_1K_TOKENS: num(1, 0),
  ACTION_TIMEOUT_MS: int(10_000, 100),
  ORBWEAVER_BOOTSTRAP_KEY: bootstrapKey,
  ORBWEAVER_SECRET: optionalStr,
  // A balance is numeric(14,4): more would make the first start fail on the account's insert.
  BOOTSTRAP_CREDITS: int(1000, 0, 9_999_999_999),
  QUEUE_PREFIX: str("orbweaver"),
  RATE_LIMIT_MAX: int(300, 1),
  RATE_LIMIT_WINDOW_MS: int(900_000, 1000),
  MAX_URLS_PER_SCRAPE: int(3, 1, 50),
  MAX_PENDING_SCRAPE_JOBS: int(10, 1),
  MAX_URLS_PER_BATCH: int(50, 1, 1000),
  MAX_PENDING_BATCHES: int(50, 1),
  BATCH_CONCURRENCY: int(2, 1, 100),
  CREDITS_PER_URL: num(2, 0),
  SCRAPE_RESULT_RETENTION_MS: int(3_600_000, 0),
  FAILED_SCRAPE_RETENTION_MS: int(86_400_000, 0),
  // 0 keeps files; otherwise at least an hour, the life of a signed file link.
  BLOB_RETENTION_MS: int(0, 0).refine((v) => v === 0 || v >= 3_600_000, {
    message: "expected 0 (keep files) or at least 3600000 (an hour, the life of a file link)",
  }),
  // 0 keeps finished work; otherwise at least a day (a failed scrape stays readable for 24 hours).
  JOB_RETENTION_MS: int(0, 0).refine((v) => v === 0 || v >= 86_400_000, {
    message: "expected 0 (keep finished work) or at least 86400000 (a day)",
  }),
  RETENTION_SWEEP_INTERVAL_MS: int(3_600_000, 100, 86_400_000),
  INVALID_KEY_STATUS: intOneOf(403, [401, 403] as const),
  BODY_LIMIT_BYTES: int(1_048_576, 1024),
  PAGE_TIMEOUT_MS: int(30_000, 1000),
  PAGE_SETTLE_MS: int(2500, 0, 60_000),
  PAGE_QUIET_MS: int(250, 0, 10_000),
  MAX_PAGE_BYTES: int(20 * 1024 * 1024, 65_536),
  BROWSER_RECYCLE_PAGES: int(500, 0, 1_000_000),
  BROWSER_WARM_CONTEXTS: int(1, 0, 8),
  JOB_TIMEOUT_MS: int(180_000, 1000),
  JOB_ATTEMPTS: int(3, 1, 20),
  JOB_LOCK_MS: int(30_000, 1000),
  STALLED_INTERVAL_MS: int(30_000, 1000),
  SHUTDOWN_TIMEOUT_MS: int(30_000, 0),
  RECONCILE_INTERVAL_MS: int(30_000, 1000),
  TRUST_PROXY: bool(false),
  PROXY_POOL: z
    .string()
    .optional()
    .transform((v) => (v ?? "").trim()),
  MAX_CRAWL_PAGES: int(50, 1, 1000),
  MAX_PENDING_CRAWLS: int(5, 1),
  CREDITS_PER_CRAWL_PAGE: num(2, 0),
  CRAWL_RESPECT_ROBOTS: bool(true),
  CRAWL_CONCURRENCY: int(1, 1, 16),
  CRAWL_MAX_DELAY_MS: int(10_000, 0, 600_000),
  CAPTCHA_SOLVER: z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((v, ctx) => {
      const value = v === undefined || v === "" ? "none" : v;
      if (value !== "none" && value !== "createtask") {
        ctx.addIssue({ code: "custom", message: `expected none or createtask, got "${value}"` });
        return z.NEVER;
      }
      return value as "none" | "createtask";
    }),
  CAPTCHA_SOLVER_URL: url(undefined, ["http:", "https:"]),
  CAPTCHA_SOLVER_KEY: optionalStr,
  CAPTCHA_SOLVER_TIMEOUT_MS: int(120_000, 1000),
  CAPTCHA_SOLVER_POLL_MS: int(3000, 100),
  CREDITS_PER_CAPTCHA: num(10, 0),
});

export type Config = {
  databaseUrl: string;
  /** Longest a statement of the API or a worker may run before Postgres cancels it (0: no limit). */
  dbStatementTimeoutMs: number;
  redisUrl: string;
  port: number;
  host: string;
  /** Base URL clients reach this server at; used for signed links. Default http://localhost:PORT. */
  publicUrl: string;
  apiPrefix: string;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  dataDir: string;
  /** Where screenshots and crawled pages are kept: files under DATA_DIR/blobs (`local`, default) or an S3-compatible bucket. */
  storage:
    | { driver: "local" }
    | {
        driver: "s3";
        bucket: string;
        /** Default us-east-1. */
        region: string;
        /** For MinIO, R2 and other non-AWS stores; unset for AWS S3. */
        endpoint: string | undefined;
        /** Both or neither; unset uses the SDK's default credential chain (env, profile, IAM role). */
        accessKeyId: string | undefined;
        secretAccessKey: string | undefined;
        /** Bucket in the URL path rather than the host name (MinIO needs it). Default false. */
        forcePathStyle: boolean;
        /** Prefix of every object key, without surrounding slashes; "" for none. */
        prefix: string;
      };
  /**
   * A sweep every `sweepIntervalMs` (one worker sweeps at a time) deletes stored files (screenshots,
   * crawled pages) last written more than `filesMaxAgeMs` ago, and finished scrapes, batches and
   * crawls older than `workMaxAgeMs`; 0 keeps them. Links to a deleted file answer 404.
   */
  retention: { filesMaxAgeMs: number; workMaxAgeMs: number; sweepIntervalMs: number };
  chromiumPath: string;
  workerConcurrency: number;
  network: { allowPrivateNetwork: boolean; allowHosts: string[] };
  llm: {
    baseUrl: string | undefined;
    apiKey: string | undefined;
    model: string;
    timeoutMs: number;
    /** Input tokens per model call (instructions, schema and page); longer pages are split into chunks. */
    inputBudgetTokens: number;
    /** Model calls at most per extraction; content beyond is not sent (and the log says so). */
    maxChunks: number;
    /** `auto` tries json_schema and falls back to json_object when the server refuses it. */
    structuredOutput: "auto" | "json_schema" | "json_object";
  };
  bootstrap: { key: string | undefined; credits: number };
  /** Signs file links and seals cookies in transit; generated and kept in Postgres when unset. */
  secret: string | undefined;
  queuePrefix: string;
  limits: {
    rateLimitMax: number;
    rateLimitWindowMs: number;
    maxUrlsPerScrape: number;
    maxPendingScrapeJobs: number;
    maxUrlsPerBatch: number;
    maxPendingBatches: number;
    /** Items of one batch in the queue at once, so one batch cannot starve other work. */
    batchConcurrency: number;
    creditsPerUrl: number;
    /**
     * How long a completed single scrape stays readable at GET /scrape/{id} after it finished
     * (contract: about an hour), then 404; the scrape logs keep it. 0 keeps it readable. Default 1 h.
     */
    scrapeResultRetentionMs: number;
    /** The same for a failed scrape (contract: 24 h). 0 keeps it readable. */
    failedScrapeRetentionMs: number;
    /** Credits charged per 1,000 model tokens (input + output). */
    creditsPer1kTokens: number;
    invalidKeyStatus: 401 | 403;
    bodyLimitBytes: number;
  };
  jobs: {
    pageTimeoutMs: number;
    /** Longest wait after `load` for a script-rendered page to go quiet; 0 skips it. Default 2500. */
    pageSettleMs: number;
    /** How long a page must stay quiet (no request in flight, no DOM change) to be read. Default 250. */
    pageQuietMs: number;
    /** Bytes one page may download (HTTP body; or document and subresources in the browser). Default 20 MiB. */
    maxPageBytes: number;
    /** Page loads one Chromium serves before it is replaced by a fresh one; 0 never. Default 500. */
    browserRecyclePages: number;
    /** Browser contexts (each with a blank page) a worker keeps made ahead; 0 makes them on demand. Default 1. */
    browserWarmContexts: number;
    /** Timeout of one browser action. */
    actionTimeoutMs: number;
    jobTimeoutMs: number;
    attempts: number;
    lockMs: number;
    stalledIntervalMs: number;
    shutdownTimeoutMs: number;
    reconcileIntervalMs: number;
  };
  trustProxy: boolean;
  /** Upstream proxies for `useProxy`: `country=URL` or `URL` entries (parsed by the browser package). */
  proxyPool: string;
  crawl: {
    /** Largest `maxPages` a crawl accepts (400 above). */
    maxPages: number;
    /** Unfinished crawls per account before 429 TOO_MANY_PENDING_JOBS. */
    maxPendingCrawls: number;
    /** Credits per crawled page; `maxPages` × this is reserved at submit. */
    creditsPerPage: number;
    /** Obey robots.txt rules when following links (sitemaps are read either way). */
    respectRobots: boolean;
    /** Crawls one worker process runs at once. */
    concurrency: number;
    /** Cap on a robots.txt `Crawl-delay` between page loads of one crawl; 0 ignores it. Default 10000. */
    maxDelayMs: number;
  };
  captcha: {
    /** `createtask`: solve CAPTCHA walls through a provider's createTask/getTaskResult API; `none` (default): report them as blocked. */
    solver: "none" | "createtask";
    /** Provider API base URL (operator setting: not subject to the per-job network policy). */
    url: string | undefined;
    /** Provider account key; never logged. */
    key: string | undefined;
    /** Give up on one CAPTCHA after this long (default 120000 ms). */
    timeoutMs: number;
    /** Wait between result polls (default 3000 ms). */
    pollIntervalMs: number;
    /** Credits charged per solved CAPTCHA (default 10). */
    creditsPerSolve: number;
  };
};

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`Invalid settings:\n  ${problems.join("\n  ")}`);
  }
}

/** Parses and validates settings once; throws ConfigError naming every bad variable. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const e = parsed.data;
  if (e.CAPTCHA_SOLVER !== "none") {
    const missing = [
      ...(e.CAPTCHA_SOLVER_URL ? [] : ["CAPTCHA_SOLVER_URL"]),
      ...(e.CAPTCHA_SOLVER_KEY ? [] : ["CAPTCHA_SOLVER_KEY"]),
    ];
    if (missing.length > 0) {
      throw new ConfigError(missing.map((name) => `${name}: required when CAPTCHA_SOLVER is ${e.CAPTCHA_SOLVER}`));
    }
  }
  if (e.STORAGE_DRIVER === "s3") {
    const problems = [
      ...(e.S3_BUCKET ? [] : ["S3_BUCKET: required when STORAGE_DRIVER is s3"]),
      ...(e.S3_ACCESS_KEY_ID && !e.S3_SECRET_ACCESS_KEY
        ? ["S3_SECRET_ACCESS_KEY: required with S3_ACCESS_KEY_ID"]
        : []),
      ...(!e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY
        ? ["S3_ACCESS_KEY_ID: required with S3_SECRET_ACCESS_KEY"]
        : []),
    ];
    if (problems.length > 0) throw new ConfigError(problems);
  }
  const prefix = "/" + e.API_PREFIX.replace(/^\/+|\/+$/g, "");
  return {
    databaseUrl: e.DATABASE_URL!,
    dbStatementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
    redisUrl: e.REDIS_URL!,
    port: e.PORT,
    host: e.HOST,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ""),
    apiPrefix: prefix === "/" ? "" : prefix,
    logLevel: e.LOG_LEVEL,
    dataDir: e.DATA_DIR,
    storage:
      e.STORAGE_DRIVER === "s3"
        ? {
            driver: "s3",
            bucket: e.S3_BUCKET!,
            region: e.S3_REGION,
            endpoint: e.S3_ENDPOINT,
            accessKeyId: e.S3_ACCESS_KEY_ID,
            secretAccessKey: e.S3_SECRET_ACCESS_KEY,
            forcePathStyle: e.S3_FORCE_PATH_STYLE,
            prefix: e.S3_PREFIX,
          }
        : { driver: "local" },
    retention: {
      filesMaxAgeMs: e.BLOB_RETENTION_MS,
      workMaxAgeMs: e.JOB_RETENTION_MS,
      sweepIntervalMs: e.RETENTION_SWEEP_INTERVAL_MS,
    },
    chromiumPath: e.CHROMIUM_PATH,
    workerConcurrency: e.WORKER_CONCURRENCY,
    network: { allowPrivateNetwork: e.ALLOW_PRIVATE_NETWORK, allowHosts: e.ALLOW_HOSTS },
    llm: {
      baseUrl: e.OPENAI_BASE_URL,
      apiKey: e.OPENAI_API_KEY,
      model: e.LLM_MODEL,
      timeoutMs: e.LLM_TIMEOUT_MS,
      inputBudgetTokens: e.LLM_INPUT_BUDGET_TOKENS,
      maxChunks: e.LLM_MAX_CHUNKS,
      structuredOutput: e.LLM_STRUCTURED_OUTPUT,
    },
    bootstrap: { key: e.ORBWEAVER_BOOTSTRAP_KEY, credits: e.BOOTSTRAP_CREDITS },
    secret: e.ORBWEAVER_SECRET,
    queuePrefix: e.QUEUE_PREFIX,
    limits: {
      rateLimitMax: e.RATE_LIMIT_MAX,
      rateLimitWindowMs: e.RATE_LIMIT_WINDOW_MS,
      maxUrlsPerScrape: e.MAX_URLS_PER_SCRAPE,
      maxPendingScrapeJobs: e.MAX_PENDING_SCRAPE_JOBS,
      maxUrlsPerBatch: e.MAX_URLS_PER_BATCH,
      maxPendingBatches: e.MAX_PENDING_BATCHES,
      batchConcurrency: e.BATCH_CONCURRENCY,
      creditsPerUrl: e.CREDITS_PER_URL,
      scrapeResultRetentionMs: e.SCRAPE_RESULT_RETENTION_MS,
      failedScrapeRetentionMs: e.FAILED_SCRAPE_RETENTION_MS,
      creditsPer1kTokens: e.CREDITS_PER_1K_TOKENS,
      invalidKeyStatus: e.INVALID_KEY_STATUS,
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
    },
    jobs: {
      pageTimeoutMs: e.PAGE_TIMEOUT_MS,
      pageSettleMs: e.PAGE_SETTLE_MS,
      pageQuietMs: e.PAGE_QUIET_MS,
      maxPageBytes: e.MAX_PAGE_BYTES,
      browserRecyclePages: e.BROWSER_RECYCLE_PAGES,
      browserWarmContexts: e.BROWSER_WARM_CONTEXTS,
      actionTimeoutMs: e.ACTION_TIMEOUT_MS,
      jobTimeoutMs: e.JOB_TIMEOUT_MS,
      attempts: e.JOB_ATTEMPTS,
      lockMs: e.JOB_LOCK_MS,
      stalledIntervalMs: e.STALLED_INTERVAL_MS,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
      reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
    },
    trustProxy: e.TRUST_PROXY,
    proxyPool: e.PROXY_POOL,
    crawl: {
      maxPages: e.MAX_CRAWL_PAGES,
      maxPendingCrawls: e.MAX_PENDING_CRAWLS,
      creditsPerPage: e.CREDITS_PER_CRAWL_PAGE,
      respectRobots: e.CRAWL_RESPECT_ROBOTS,
      concurrency: e.CRAWL_CONCURRENCY,
      maxDelayMs: e.CRAWL_MAX_DELAY_MS,
    },
    captcha: {
      solver: e.CAPTCHA_SOLVER,
      url: e.CAPTCHA_SOLVER_URL,
      key: e.CAPTCHA_SOLVER_KEY,
      timeoutMs: e.CAPTCHA_SOLVER_TIMEOUT_MS,
      pollIntervalMs: e.CAPTCHA_SOLVER_POLL_MS,
      creditsPerSolve: e.CREDITS_PER_CAPTCHA,
    },
  };
}
