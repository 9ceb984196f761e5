import type {
  CrawlHistoryJob,
  CrawlJobRecord,
  CrawlPageRecord,
  CrawlResultPage,
  CrawlStatusResponse,
} from "@orbweaver/contract";
import type { CrawlCounts, CrawlHistoryRow, CrawlJob, CrawlPageRow, JobRow } from "@orbweaver/db";
import { blobRef } from "@orbweaver/storage";

type Signer = (ref: string | null) => string | null;
type CrawlStatus = CrawlStatusResponse["status"];
type Progress = NonNullable<CrawlStatusResponse["progress"]>;

const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);
const flag = (b: boolean) => (b ? 1 : 0);

/**
 * The public status (D15): queued or retrying → waiting; claimed but still reading robots.txt and
 * the sitemap → active; working through pages → running; then completed, failed or cancelled.
 */
export function crawlStatusOf(job: JobRow): CrawlStatus {
  switch (job.status) {
    case "waiting":
    case "delayed":
      return "waiting";
    case "active":
      return (job.progress as { status?: string } | null)?.status === "running" ? "running" : "active";
    default:
      return job.status;
  }
}

function progressOf(job: JobRow, maxPages: number, crawled: number | undefined): Progress {
  const stored = (job.progress ?? {}) as Partial<Progress>;
  return {
    status: stored.status ?? crawlStatusOf(job),
    message: stored.message ?? "",
    progress: typeof stored.progress === "number" ? stored.progress : 0,
    pagesCrawled: crawled ?? stored.pagesCrawled ?? 0,
    maxPages: stored.maxPages ?? maxPages,
  };
}

/** D17: the same signed link under both names, and the storage key, each a string or null. */
function linkFields(page: CrawlPageRow, sign: Signer) {
  const html = page.htmlKey ? sign(blobRef(page.htmlKey)) : null;
  const markdown = page.markdownKey ? sign(blobRef(page.markdownKey)) : null;
  return {
    html_url: html,
    markdown_url: markdown,
    html,
    markdown,
    htmlKey: page.htmlKey,
    markdownKey: page.markdownKey,
  };
}

export function presentResultPage(page: CrawlPageRow, sign: Signer): CrawlResultPage {
  return {
    id: page.id,
    url: page.url,
    title: page.title ?? "",
    status: page.status === "success" ? "success" : "failed",
    data: page.data ?? null,
    ai_extraction_failed: page.aiExtractionFailed,
    error_message: page.errorMessage,
    ...linkFields(page, sign),
  };
}

/** One record of `/pages`: a finished page (`/pages` lists no page still being loaded, D18). */
export function presentPageRecord(page: CrawlPageRow, sign: Signer): CrawlPageRecord {
  return {
    id: page.id,
    url: page.url,
    title: page.title ?? "",
    status: page.status === "success" ? "success" : "failed",
    data: page.data ?? null,
    ai_extraction_failed: page.aiExtractionFailed,
    error_message: page.errorMessage,
    ...linkFields(page, sign),
    created_at: page.createdAt.toISOString(),
  };
}

/** §8.2: every key in every state; `result` is the array of processed pages once completed, else null. */
export function presentCrawlStatus(
  found: CrawlJob,
  opts: { pages: CrawlPageRow[] | null; crawled?: number; sign: Signer },
): CrawlStatusResponse {
  const { job, crawl } = found;
  const status = crawlStatusOf(job);
  const body: CrawlStatusResponse = {
    status,
    jobId: job.id,
    progress: progressOf(job, crawl.maxPages, opts.crawled),
    result: status === "completed" ? (opts.pages ?? []).map((p) => presentResultPage(p, opts.sign)) : null,
    error: status === "failed" ? (job.error ?? "Crawl failed") : null,
  };
  if (crawl.notes.length > 0) body.notes = crawl.notes;
  if (job.schemaWarnings && job.schemaWarnings.length > 0) body.schema_warnings = job.schemaWarnings;
  return body;
}

/** Bytes as MB (2^20) with 3 decimals, as the scrape logs show them. */
const megabytes = (bytes: number) => Math.round((bytes / 1_048_576) * 1000) / 1000;

function recordFields(
  found: CrawlJob,
  counts: { crawled: number; inputTokens: number; outputTokens: number; proxyBytes: number },
) {
  const { job, crawl } = found;
  return {
    id: crawl.id,
    base_url: crawl.baseUrl,
    crawl_instruction: crawl.crawlInstruction,
    transform_instruction: crawl.transformInstruction,
    output_schema: crawl.outputSchema ?? null,
    max_pages: crawl.maxPages,
    max_depth: crawl.maxDepth,
    include_paths: crawl.includePaths,
    exclude_paths: crawl.excludePaths,
    allow_subdomains: flag(crawl.allowSubdomains),
    crawl_entire_domain: flag(crawl.crawlEntireDomain),
    ignore_query_params: flag(crawl.ignoreQueryParams),
    webhook_url: crawl.webhookUrl,
    status: crawlStatusOf(job),
    created_at: crawl.createdAt.toISOString(),
    updated_at: iso(job.updatedAt) ?? crawl.createdAt.toISOString(),
    input_tokens: counts.inputTokens,
    output_tokens: counts.outputTokens,
    credits_used: job.creditsUsed,
    pages_crawled: counts.crawled,
    use_proxy: flag(crawl.useProxy),
    // Bytes through upstream proxies are counted; they are not billed in credits here.
    proxy_bandwidth_mb: megabytes(counts.proxyBytes),
    proxy_billing: "none",
  };
}

/** GET /crawl/job/{id} (§8.3): the flat record. */
export function presentJobRecord(found: CrawlJob, counts: CrawlCounts): CrawlJobRecord {
  return {
    ...recordFields(found, counts),
    source_job_id: found.crawl.sourceJobId,
    error: found.job.status === "failed" ? (found.job.error ?? "Crawl failed") : null,
    notes: found.crawl.notes,
  };
}

/** One job of GET /crawl/history: `id` and `uuid` alike (D19), flags as 0/1 (D20). */
export function presentHistoryJob(row: CrawlHistoryRow): CrawlHistoryJob {
  return {
    ...recordFields(row, {
      crawled: row.pagesCrawled,
      inputTokens: row.inputTokens,
      outputTokens: row.outputTokens,
      proxyBytes: row.proxyBytes,
    }),
    uuid: row.crawl.id,
    user_uuid: row.crawl.accountId,
    source_job_id: row.crawl.sourceJobId,
  };
}
