import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/index.ts";

describe("loadConfig", () => {
  it("applies documented defaults on an empty environment", () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.chromiumPath).toBe("/usr/bin/chromium");
    expect(c.network.allowPrivateNetwork).toBe(false);
    expect(c.limits.maxUrlsPerScrape).toBe(3);
    expect(c.limits.creditsPerUrl).toBe(2);
    expect(c.limits.rateLimitMax).toBe(300);
    expect(c.limits).toMatchObject({ scrapeResultRetentionMs: 3_600_000, failedScrapeRetentionMs: 86_400_000 });
    expect(c.apiPrefix).toBe("/api");
    expect(c.publicUrl).toBe("http://localhost:8080");
  });

  it("limits database statements to 30 s by default; 0 lifts the limit; a negative value stops startup", () => {
    expect(loadConfig({}).dbStatementTimeoutMs).toBe(30_000);
    expect(loadConfig({ DB_STATEMENT_TIMEOUT_MS: "0" }).dbStatementTimeoutMs).toBe(0);
    expect(() => loadConfig({ DB_STATEMENT_TIMEOUT_MS: "-1" })).toThrow(/DB_STATEMENT_TIMEOUT_MS/);
  });

  it("parses values and normalises the prefix and host list", () => {
    const c = loadConfig({
      PORT: "9000",
      ALLOW_PRIVATE_NETWORK: "true",
      ALLOW_HOSTS: "Intranet.local, 10.0.0.5:8080",
      API_PREFIX: "v1/",
      PUBLIC_URL: "https://scrape.example.com/",
      CREDITS_PER_URL: "1.5",
    });
    expect(c.port).toBe(9000);
    expect(c.network).toEqual({ allowPrivateNetwork: true, allowHosts: ["intranet.local", "10.0.0.5:8080"] });
    expect(c.apiPrefix).toBe("/v1");
    expect(c.publicUrl).toBe("https://scrape.example.com");
    expect(c.limits.creditsPerUrl).toBe(1.5);
  });

  it("has defaults for the extraction, batch, crawl and proxy settings and validates them", () => {
    const c = loadConfig({});
    expect(c.llm).toMatchObject({ inputBudgetTokens: 24_000, maxChunks: 8, structuredOutput: "auto" });
    expect(c.limits).toMatchObject({ maxUrlsPerBatch: 50, batchConcurrency: 2, creditsPer1kTokens: 1 });
    expect(c.crawl).toMatchObject({ maxPages: 50, maxPendingCrawls: 5, respectRobots: true, maxDelayMs: 10_000 });
    expect(loadConfig({ CRAWL_MAX_DELAY_MS: "0" }).crawl.maxDelayMs).toBe(0);
    expect(() => loadConfig({ CRAWL_MAX_DELAY_MS: "-1" })).toThrow(/CRAWL_MAX_DELAY_MS/);
    expect(c.proxyPool).toBe("");
    expect(c.secret).toBeUndefined();
    expect(() => loadConfig({ LLM_STRUCTURED_OUTPUT: "xml" })).toThrow(/LLM_STRUCTURED_OUTPUT/);
    expect(() => loadConfig({ MAX_URLS_PER_BATCH: "0" })).toThrow(/MAX_URLS_PER_BATCH/);
  });

  it("takes 401 or 403 for unknown keys and nothing else", () => {
    expect(loadConfig({}).limits.invalidKeyStatus).toBe(403);
    expect(loadConfig({ INVALID_KEY_STATUS: "401" }).limits.invalidKeyStatus).toBe(401);
    for (const bad of ["402", "400", "200", "4o1"]) {
      expect(() => loadConfig({ INVALID_KEY_STATUS: bad }), bad).toThrow(/INVALID_KEY_STATUS: expected 401 or 403/);
    }
  });

  it("refuses a bootstrap key that is short or a placeholder", () => {
    expect(loadConfig({}).bootstrap.key).toBeUndefined();
    expect(loadConfig({ ORBWEAVER_BOOTSTRAP_KEY: "  " }).bootstrap.key).toBeUndefined();
    const good = "spd_Qx8v2Lr0aN5mK7pW4tYc1zE9";
    expect(loadConfig({ ORBWEAVER_BOOTSTRAP_KEY: good }).bootstrap.key).toBe(good);
    for (const bad of ["spd_short", "spd_change_me_to_a_long_random_secret", "CHANGEME-0123456789abcdef"]) {
      expect(() => loadConfig({ ORBWEAVER_BOOTSTRAP_KEY: bad }), bad).toThrow(/ORBWEAVER_BOOTSTRAP_KEY/);
    }
  });

  it("leaves the CAPTCHA solver off by default and requires its URL and key when on", () => {
    expect(loadConfig({}).captcha).toEqual({
      solver: "none",
      url: undefined,
      key: undefined,
      timeoutMs: 120_000,
      pollIntervalMs: 3000,
      creditsPerSolve: 10,
    });
    const on = loadConfig({
      CAPTCHA_SOLVER: "CreateTask",
      CAPTCHA_SOLVER_URL: "https://api.2captcha.com",
      CAPTCHA_SOLVER_KEY: "k-123",
      CAPTCHA_SOLVER_TIMEOUT_MS: "60000",
    });
    expect(on.captcha).toMatchObject({ solver: "createtask", url: "https://api.2captcha.com", key: "k-123" });
    expect(on.captcha.timeoutMs).toBe(60_000);
    expect(() => loadConfig({ CAPTCHA_SOLVER: "magic" })).toThrow(/CAPTCHA_SOLVER/);
    expect(() => loadConfig({ CAPTCHA_SOLVER: "createtask", CAPTCHA_SOLVER_URL: "https://x.test" })).toThrow(
      /CAPTCHA_SOLVER_KEY/,
    );
    expect(() => loadConfig({ CAPTCHA_SOLVER: "createtask", CAPTCHA_SOLVER_KEY: "k-secret" })).toThrow(
      /CAPTCHA_SOLVER_URL/,
    );
    // A bad setting is named, but the key itself never appears in the message.
    try {
      loadConfig({ CAPTCHA_SOLVER: "createtask", CAPTCHA_SOLVER_KEY: "k-secret", CAPTCHA_SOLVER_TIMEOUT_MS: "5" });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toContain("CAPTCHA_SOLVER_TIMEOUT_MS");
      expect((err as Error).message).not.toContain("k-secret");
    }
  });

  it("keeps blobs on local disk by default and reads the S3 settings when STORAGE_DRIVER is s3", () => {
    expect(loadConfig({}).storage).toEqual({ driver: "local" });
    // S3_* settings are ignored (and not required) while the driver is local.
    expect(loadConfig({ STORAGE_DRIVER: "local", S3_ACCESS_KEY_ID: "only-id" }).storage).toEqual({ driver: "local" });
    expect(loadConfig({ STORAGE_DRIVER: "S3", S3_BUCKET: "shots" }).storage).toEqual({
      driver: "s3",
      bucket: "shots",
      region: "us-east-1",
      endpoint: undefined,
      accessKeyId: undefined,
      secretAccessKey: undefined,
      forcePathStyle: false,
      prefix: "",
    });
    const minio = loadConfig({
      STORAGE_DRIVER: "s3",
      S3_BUCKET: "orbweaver",
      S3_REGION: "eu-west-3",
      S3_ENDPOINT: "http://minio:9000",
      S3_ACCESS_KEY_ID: "minio",
      S3_SECRET_ACCESS_KEY: "minio-secret",
      S3_FORCE_PATH_STYLE: "true",
      S3_PREFIX: "/prod/blobs/",
    });
    expect(minio.storage).toEqual({
      driver: "s3",
      bucket: "orbweaver",
      region: "eu-west-3",
      endpoint: "http://minio:9000",
      accessKeyId: "minio",
      secretAccessKey: "minio-secret",
      forcePathStyle: true,
      prefix: "prod/blobs",
    });
  });

  it("keeps files and finished work for good by default; the retention settings turn the sweep on", () => {
    expect(loadConfig({}).retention).toEqual({ filesMaxAgeMs: 0, workMaxAgeMs: 0, sweepIntervalMs: 3_600_000 });
    expect(
      loadConfig({
        BLOB_RETENTION_MS: String(7 * 86_400_000),
        JOB_RETENTION_MS: String(90 * 86_400_000),
        RETENTION_SWEEP_INTERVAL_MS: "600000",
      }).retention,
    ).toEqual({ filesMaxAgeMs: 7 * 86_400_000, workMaxAgeMs: 90 * 86_400_000, sweepIntervalMs: 600_000 });
    expect(() => loadConfig({ BLOB_RETENTION_MS: "-1" })).toThrow(/BLOB_RETENTION_MS/);
    // Shorter than a file link lives: a link just handed out could already be dead.
    expect(() => loadConfig({ BLOB_RETENTION_MS: "60000" })).toThrow(/BLOB_RETENTION_MS.*at least 3600000/);
    expect(loadConfig({ BLOB_RETENTION_MS: "3600000" }).retention.filesMaxAgeMs).toBe(3_600_000);
    // Shorter than a failed scrape stays readable.
    expect(() => loadConfig({ JOB_RETENTION_MS: "3600000" })).toThrow(/JOB_RETENTION_MS.*at least 86400000/);
    expect(() => loadConfig({ RETENTION_SWEEP_INTERVAL_MS: "0" })).toThrow(/RETENTION_SWEEP_INTERVAL_MS/);
  });

  it("refuses STORAGE_DRIVER=s3 without a bucket, half credentials and bad S3 values", () => {
    expect(() => loadConfig({ STORAGE_DRIVER: "s3" })).toThrow(/S3_BUCKET: required when STORAGE_DRIVER is s3/);
    expect(() => loadConfig({ STORAGE_DRIVER: "s3", S3_BUCKET: " " })).toThrow(/S3_BUCKET/);
    expect(() => loadConfig({ STORAGE_DRIVER: "gcs" })).toThrow(/STORAGE_DRIVER/);
    expect(() => loadConfig({ STORAGE_DRIVER: "s3", S3_BUCKET: "b", S3_ACCESS_KEY_ID: "id" })).toThrow(
      /S3_SECRET_ACCESS_KEY/,
    );
    expect(() => loadConfig({ STORAGE_DRIVER: "s3", S3_BUCKET: "b", S3_SECRET_ACCESS_KEY: "s3-secret" })).toThrow(
      /S3_ACCESS_KEY_ID/,
    );
    expect(() => loadConfig({ STORAGE_DRIVER: "s3", S3_BUCKET: "a/b" })).toThrow(/S3_BUCKET/);
    expect(() => loadConfig({ S3_ENDPOINT: "minio:9000" })).toThrow(/S3_ENDPOINT/);
    expect(() => loadConfig({ S3_FORCE_PATH_STYLE: "sometimes" })).toThrow(/S3_FORCE_PATH_STYLE/);
    for (const prefix of ["../up", "a//b", "a/../b", "with space"]) {
      expect(() => loadConfig({ S3_PREFIX: prefix }), prefix).toThrow(/S3_PREFIX/);
    }
    // The secret is never echoed in the error.
    try {
      loadConfig({ STORAGE_DRIVER: "s3", S3_SECRET_ACCESS_KEY: "s3-secret-value" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain("S3_BUCKET");
      expect((err as Error).message).not.toContain("s3-secret-value");
    }
  });

  it("caps page bytes at 20 MiB and recycles Chromium every 500 pages by default", () => {
    expect(loadConfig({}).jobs).toMatchObject({ maxPageBytes: 20 * 1024 * 1024, browserRecyclePages: 500 });
    const c = loadConfig({ MAX_PAGE_BYTES: "1048576", BROWSER_RECYCLE_PAGES: "0" });
    expect(c.jobs).toMatchObject({ maxPageBytes: 1_048_576, browserRecyclePages: 0 });
    expect(() => loadConfig({ MAX_PAGE_BYTES: "100" })).toThrow(/MAX_PAGE_BYTES/);
    expect(() => loadConfig({ BROWSER_RECYCLE_PAGES: "-1" })).toThrow(/BROWSER_RECYCLE_PAGES/);
    expect(loadConfig({}).jobs.browserWarmContexts).toBe(1);
    expect(loadConfig({ BROWSER_WARM_CONTEXTS: "0" }).jobs.browserWarmContexts).toBe(0);
    expect(() => loadConfig({ BROWSER_WARM_CONTEXTS: "9" })).toThrow(/BROWSER_WARM_CONTEXTS/);
  });

  it("treats empty strings as unset", () => {
    expect(loadConfig({ PORT: "", OPENAI_API_KEY: "" }).llm.apiKey).toBeUndefined();
  });

  it("names every bad variable", () => {
    try {
      loadConfig({ PORT: "eighty", ALLOW_PRIVATE_NETWORK: "maybe", DATABASE_URL: "mysql://x", LOG_LEVEL: "loud" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      for (const name of ["PORT", "ALLOW_PRIVATE_NETWORK", "DATABASE_URL", "LOG_LEVEL"]) expect(msg).toContain(name);
    }
  });
});
