import { Type, type Static } from "@sinclair/typebox";
import { CookieObject, MAX_COOKIES_PER_URL } from "./scrape.ts";
import { Nullable, ScrapeMode } from "./common.ts";

/** Default `crawlInstruction` (JS-0.6 README): follow every in-scope link, no model needed. */
export const DEFAULT_CRAWL_INSTRUCTION = "Find all pages on the website";
/** Longest `transformInstruction` accepted (§8.3, also applied to crawlInstruction). */
export const MAX_INSTRUCTION_CHARS = 5000;

const PathList = Type.Array(Type.String({ maxLength: 500 }), { maxItems: 100 });

/**
 * POST /crawl (§8.1, D14): only `baseUrl` is required. Unknown keys are ignored; `null` means absent
 * for every optional field (the route drops such nulls before validation, which would coerce them);
 * `""` means absent for the instructions, `webhookUrl`, `proxyCountry` and `cookies`. Caps that
 * are settings (`maxPages`) are checked in the route.
 */
export const CrawlRequest = Type.Object(
  {
    baseUrl: Type.String({ minLength: 1 }),
    crawlInstruction: Type.Optional(Type.String()),
    transformInstruction: Type.Optional(Type.String()),
    schema: Type.Optional(Type.Object({}, { additionalProperties: true })),
    maxPages: Type.Optional(Type.Integer()),
    maxDepth: Type.Optional(Type.Integer({ minimum: 0 })),
    includePaths: Type.Optional(PathList),
    excludePaths: Type.Optional(PathList),
    allowSubdomains: Type.Optional(Type.Boolean()),
    crawlEntireDomain: Type.Optional(Type.Boolean()),
    ignoreQueryParams: Type.Optional(Type.Boolean()),
    webhookUrl: Type.Optional(Type.String()),
    useProxy: Type.Optional(Type.Boolean()),
    proxyCountry: Type.Optional(Type.String()),
    // Array first: with the gateway's `coerceTypes: "array"`, Ajv trying the string branch first
    // unwraps a one-cookie array in place and the array branch then fails (one cookie → 400).
    cookies: Type.Optional(Type.Union([Type.Array(CookieObject, { maxItems: MAX_COOKIES_PER_URL }), Type.String()])),
    scrapeMode: Type.Optional(ScrapeMode),
  },
  { additionalProperties: true },
);
export type CrawlRequest = Static<typeof CrawlRequest>;

export const CrawlSubmitResponse = Type.Object({
  status: Type.Literal("queued"),
  jobId: Type.String(),
  message: Type.String(),
  schema_warnings: Type.Optional(Type.Array(Type.String())),
});

export const CrawlIdParams = Type.Object({ jobId: Type.String() });
export const CrawlPageParams = Type.Object({ jobId: Type.String(), pageId: Type.String() });

/** D15: the full set of statuses. */
export const CrawlStatus = Type.Union(
  ["waiting", "active", "running", "completed", "failed", "cancelled"].map((s) => Type.Literal(s)),
);

/** D16: the union of both progress shapes. */
export const CrawlProgress = Type.Object({
  status: Type.String(),
  message: Type.String(),
  progress: Type.Number(),
  pagesCrawled: Type.Integer(),
  maxPages: Type.Integer(),
});

/** Link fields of D17: signed 1-hour URLs (the same under both names) and storage keys; null when absent. */
const linkFields = {
  html_url: Nullable(Type.String()),
  markdown_url: Nullable(Type.String()),
  html: Nullable(Type.String()),
  markdown: Nullable(Type.String()),
  htmlKey: Nullable(Type.String()),
  markdownKey: Nullable(Type.String()),
};

/** One page of a completed crawl's inline `result` (Go decodes `[]CrawlPage`). */
export const CrawlResultPage = Type.Object({
  id: Type.String(),
  url: Type.String(),
  title: Type.String(),
  status: Type.Union([Type.Literal("success"), Type.Literal("failed")]),
  data: Type.Unknown(),
  /** The model could not extract this page's data (transformInstruction/schema): `data` is its Markdown. */
  ai_extraction_failed: Type.Boolean(),
  error_message: Nullable(Type.String()),
  ...linkFields,
});
export type CrawlResultPage = Static<typeof CrawlResultPage>;

/** GET /crawl/{jobId} (§8.2): every key present in every state; `result` an array or null. */
export const CrawlStatusResponse = Type.Object({
  status: CrawlStatus,
  jobId: Type.String(),
  progress: Nullable(CrawlProgress),
  result: Nullable(Type.Array(CrawlResultPage)),
  error: Nullable(Type.String()),
  notes: Type.Optional(Type.Array(Type.String())),
  schema_warnings: Type.Optional(Type.Array(Type.String())),
});
export type CrawlStatusResponse = Static<typeof CrawlStatusResponse>;

/** GET /crawl/{jobId}/pages (§8.3); `pending` only for pages being processed (D18). */
export const CrawlPageRecord = Type.Object({
  id: Type.String(),
  url: Type.String(),
  title: Type.String(),
  status: Type.Union([Type.Literal("success"), Type.Literal("failed"), Type.Literal("pending")]),
  data: Type.Unknown(),
  ai_extraction_failed: Type.Boolean(),
  error_message: Nullable(Type.String()),
  ...linkFields,
  created_at: Type.String(),
});
export type CrawlPageRecord = Static<typeof CrawlPageRecord>;

export const CrawlPagesResponse = Type.Object({ pages: Type.Array(CrawlPageRecord) });

export const CrawlExtractResponse = Type.Object({
  status: Type.Literal("queued"),
  jobId: Type.String(),
  message: Type.String(),
});

export const CrawlCancelResponse = Type.Object({ status: Type.Literal("cancelled"), jobId: Type.String() });

/** POST /crawl/{jobId}/retry/{pageId} (JS-0.6 retryCrawlPage). */
export const CrawlRetryResponse = Type.Object({
  success: Type.Boolean(),
  data: Type.Unknown(),
  tokensUsed: Type.Integer(),
  creditsUsed: Type.Number(),
  message: Type.String(),
  error: Type.Optional(Type.String()),
});

/** `include=html,markdown` or, as form encoders send a list, `include=html&include=markdown`. */
export const CrawlDownloadQuery = Type.Object(
  { include: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 10 })])) },
  { additionalProperties: true },
);

/** Booleans of crawl records travel as 0/1 (D20). */
const Flag = Type.Integer({ minimum: 0, maximum: 1 });

const crawlRecordFields = {
  id: Type.String(),
  base_url: Type.String(),
  crawl_instruction: Type.String(),
  transform_instruction: Nullable(Type.String()),
  output_schema: Type.Unknown(),
  max_pages: Type.Integer(),
  max_depth: Nullable(Type.Integer()),
  include_paths: Nullable(Type.Array(Type.String())),
  exclude_paths: Nullable(Type.Array(Type.String())),
  allow_subdomains: Flag,
  crawl_entire_domain: Flag,
  ignore_query_params: Flag,
  webhook_url: Nullable(Type.String()),
  status: CrawlStatus,
  created_at: Type.String(),
  updated_at: Type.String(),
  input_tokens: Type.Integer(),
  output_tokens: Type.Integer(),
  credits_used: Type.Number(),
  pages_crawled: Type.Integer(),
  use_proxy: Flag,
  /** MB (2^20 bytes, 3 decimals) the crawl's pages moved through upstream proxies. */
  proxy_bandwidth_mb: Type.Number(),
  proxy_billing: Type.String(),
};

/** GET /crawl/job/{jobId} (§8.3): the flat record (plus the proxy fields of the history, harmless extras). */
export const CrawlJobRecord = Type.Object({
  ...crawlRecordFields,
  source_job_id: Nullable(Type.String()),
  error: Nullable(Type.String()),
  notes: Type.Array(Type.String()),
});
export type CrawlJobRecord = Static<typeof CrawlJobRecord>;

/** One job of GET /crawl/history: `id` and `uuid` carry the same value (D19). */
export const CrawlHistoryJob = Type.Object({
  ...crawlRecordFields,
  uuid: Type.String(),
  user_uuid: Type.String(),
  source_job_id: Nullable(Type.String()),
});
export type CrawlHistoryJob = Static<typeof CrawlHistoryJob>;

/** Flat envelope (§14, D21). */
export const CrawlHistoryResponse = Type.Object({
  jobs: Type.Array(CrawlHistoryJob),
  total: Type.Integer(),
  page: Type.Integer(),
  totalPages: Type.Integer(),
});

export const CrawlStatsResponse = Type.Object({ total: Type.Integer() });
