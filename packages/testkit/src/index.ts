export { startFixtureSite } from "./fixture-site.ts";
export type { FixtureSite, FixtureSiteOptions } from "./fixture-site.ts";
export { startCanary } from "./canary.ts";
export type { Canary } from "./canary.ts";
export { startOpenAIServer } from "./openai-server.ts";
export type { DefaultReply, OpenAIServer, OpenAIServerOptions } from "./openai-server.ts";
export { chatRequests, lastChatRequest, messageText } from "./openai-wire.ts";
export type {
  ChatMessage,
  ChatRequestView,
  ContentReply,
  DelayReply,
  ErrorReply,
  HangReply,
  RawReply,
  RecordedRequest,
  RejectJsonSchemaReply,
  ResponseFormat,
  ScriptedReply,
  TokenUsage,
  WaitReply,
} from "./openai-wire.ts";
export { waitFor, within } from "./wait-for.ts";
export type { WaitForOptions } from "./wait-for.ts";
export { getFreePort } from "./free-port.ts";
export { EDGE_FEED_POSTS, EDGE_FORUM_PAGES, EDGE_FRUITS, EDGE_MORE_ITEMS } from "./fixture/action-edge-pages.ts";
export {
  COMPONENT_APP_ROWS,
  COMPONENT_PRODUCTS,
  COMPONENT_SHOP_PAGE_SIZE,
  COMPONENT_SHOP_PAGES,
} from "./fixture/component-shop.ts";
export { NEWS_ARTICLE_COUNT, NEWS_PAGE_SIZE, NEWS_PAGES, newsArticle } from "./fixture/news-pages.ts";
export type { NewsArticle } from "./fixture/news-pages.ts";
export { PRODUCTS } from "./fixture/product-pages.ts";
export type { Product } from "./fixture/product-pages.ts";
export { LOAD_MORE_MAX, LOAD_MORE_STEP } from "./fixture/misc-pages.ts";
export { HUGE_DEFAULT_KB, HUGE_MAX_KB } from "./fixture/huge-page.ts";
export { buildPdf, LONG_PDF, REPORT_PDF, REPORT_PDF_TEXT } from "./fixture/pdf-documents.ts";
export type { PdfSpec } from "./fixture/pdf-documents.ts";
export { auditRecords } from "./fixture/extras-audit-pages.ts";
export type { AuditRecord } from "./fixture/extras-audit-pages.ts";
export { CRAWL_APP_PAGES, CRAWL_APP_PREFIX } from "./fixture/crawl-site.ts";
export { startCrawlDelaySite } from "./fixture/crawl-delay-site.ts";
export type { CrawlDelaySite } from "./fixture/crawl-delay-site.ts";
export { startCaptchaProvider } from "./captcha-provider.ts";
export type {
  CaptchaProvider,
  CaptchaProviderBehaviour,
  CaptchaProviderOptions,
  CaptchaProviderRequest,
  CaptchaProviderTask,
} from "./captcha-provider.ts";
export {
  CAPTCHA_ARTICLE_MARKER,
  CAPTCHA_RESPONSE_FIELDS,
  CAPTCHA_SITE_KEYS,
  startCaptchaSite,
} from "./captcha-site.ts";
export type { CaptchaSite, CaptchaSiteKind, CaptchaSiteOptions, CaptchaSubmission } from "./captcha-site.ts";
export { HOSTILE_CONTENT_MARKER, startHostileSite } from "./hostile-site.ts";
export type { HostileSite } from "./hostile-site.ts";
export { startRedisServer } from "./services/redis-server.ts";
export type { RedisServer, RedisServerOptions } from "./services/redis-server.ts";
export { startPostgresServer } from "./services/postgres-server.ts";
export type { PostgresServer, PostgresServerOptions } from "./services/postgres-server.ts";
export { auditJobs, installJobAudit, nothingLostProblems } from "./services/nothing-lost.ts";
export type { JobAudit, Queryable } from "./services/nothing-lost.ts";
