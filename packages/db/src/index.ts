export { createDb } from "./client.ts";
export { isDbUnavailable, isDbValueRefused, mayHaveCommitted } from "./db-unavailable.ts";
export type { Db, DbHandle, CreateDbOptions } from "./client.ts";
export { runMigrations, ensureDatabase, migrationsFolder } from "./migrate.ts";
export { generateApiKey, hashApiKey } from "./api-key.ts";
export * as schema from "./schema/index.ts";
export type { JobStatus } from "./schema/index.ts";
export { createAccount } from "./queries/create-account.ts";
export type { CreateAccountOptions } from "./queries/create-account.ts";
export { findAccountByKey, keyExists } from "./queries/find-account-by-key.ts";
export type { KeyAccount } from "./queries/find-account-by-key.ts";
export { revokeApiKey } from "./queries/revoke-api-key.ts";
export { addCredits, getBalance } from "./queries/add-credits.ts";
export { createScrapeJobs } from "./queries/create-scrape-job.ts";
export type { CreateScrapeJobOptions, CreateScrapeJobResult } from "./queries/create-scrape-job.ts";
export { getJob } from "./queries/get-job.ts";
export type { JobRow } from "./queries/get-job.ts";
export {
  startJobAttempt,
  updateJobProgress,
  markJobDelayed,
  finishJob,
  listStaleUnfinishedJobs,
  UNFINISHED,
  FINISHED,
} from "./queries/job-lifecycle.ts";
export type { FinishJobOptions } from "./queries/job-lifecycle.ts";
export { createBatch } from "./queries/create-batch.ts";
export type { CreateBatchOptions, CreateBatchResult } from "./queries/create-batch.ts";
export { claimBatchDispatch, listBatchesAwaitingDispatch } from "./queries/claim-batch-dispatch.ts";
export { getBatch, listBatches } from "./queries/get-batch.ts";
export type { BatchRow, BatchItemWithJob } from "./queries/get-batch.ts";
export { cancelBatch, countItems } from "./queries/cancel-batch.ts";
export type { CancelBatchResult } from "./queries/cancel-batch.ts";
export { retryBatch } from "./queries/retry-batch.ts";
export type { RetryBatchResult } from "./queries/retry-batch.ts";
export { deriveBatchStatus, itemStatusOf } from "./queries/batch-status.ts";
export type { BatchStatus, BatchItemStatus, ItemCounts } from "./queries/batch-status.ts";
export { failBatch } from "./queries/fail-batch.ts";
export { listScrapeLogs, LOG_STATUS_JOB_STATES } from "./queries/list-scrape-logs.ts";
export type { ListScrapeLogsOptions, LogStatus } from "./queries/list-scrape-logs.ts";
export { getUsageStats } from "./queries/get-usage-stats.ts";
export type { UsageBucket, UsageRange } from "./queries/get-usage-stats.ts";
export { getInstanceSecret } from "./queries/instance-secret.ts";
export { createCrawl } from "./queries/crawl-create.ts";
export type { CreateCrawlOptions, CreateCrawlResult, CrawlSettings } from "./queries/crawl-create.ts";
export { getCrawl, listCrawlPages, getCrawlPage, countCrawlPages, isUuid } from "./queries/crawl-read.ts";
export type { CrawlJob, CrawlRow, CrawlPageRow, CrawlCounts } from "./queries/crawl-read.ts";
export { listCrawlHistory, countCrawls } from "./queries/crawl-history.ts";
export type { CrawlHistoryRow } from "./queries/crawl-history.ts";
export {
  startCrawlAttempt,
  updateCrawlProgress,
  markCrawlDelayed,
  addCrawlNote,
  seedCrawlFrontier,
} from "./queries/crawl-lifecycle.ts";
export type { CrawlProgress, FrontierEntry } from "./queries/crawl-lifecycle.ts";
export {
  claimCrawlPages,
  completeCrawlPage,
  requeueCrawlPage,
  findKnownUrlKeys,
  findUrlKey,
  redirectMayTakeOver,
  crawlHasRoom,
} from "./queries/crawl-frontier.ts";
export type { ClaimResult, PageOutcome, DiscoveredLink, PageRedirect } from "./queries/crawl-frontier.ts";
export { finishCrawl, cancelCrawl } from "./queries/crawl-settle.ts";
export type { CrawlSettlement, CancelCrawlResult } from "./queries/crawl-settle.ts";
export { saveCrawlPageRetry } from "./queries/crawl-retry-page.ts";
export { ensureWebhookSecret } from "./queries/crawl-webhook-secret.ts";
export type { CrawlPageStatus } from "./schema/index.ts";
export { getAccountLimits, setAccountLimits } from "./queries/account-limits.ts";
export type { AccountLimits } from "./queries/account-limits.ts";
export {
  findIdempotentJob,
  forgetIdempotentJob,
  IDEMPOTENCY_WINDOW_SECONDS,
  purgeIdempotencyKeys,
  type IdempotencyEntry,
  type IdempotencyKeyRef,
} from "./queries/idempotency-keys.ts";
export { pruneFinishedWork, type PrunedWork } from "./queries/prune-finished-work.ts";
