import { Type, type Static } from "@sinclair/typebox";
import { BrowserAction, MAX_ACTIONS_PER_LIST } from "./actions.ts";
import { Nullable, OutputFormat, Progress, ScrapeMode } from "./common.ts";

export const CookieObject = Type.Object(
  { name: Type.String(), value: Type.String(), domain: Type.Optional(Type.String()) },
  { additionalProperties: true },
);

/** Cookies accepted for one URL (browsers keep about 180 per site). */
export const MAX_COOKIES_PER_URL = 300;

export const ScrapeUrl = Type.Object(
  {
    url: Type.String({ minLength: 1 }),
    actions: Type.Optional(Type.Array(BrowserAction, { maxItems: MAX_ACTIONS_PER_LIST })),
    instruction: Type.Optional(Type.String()),
    cookies: Type.Optional(Type.Array(CookieObject, { maxItems: MAX_COOKIES_PER_URL })),
  },
  { additionalProperties: true },
);

/** Options a scrape and a batch share (§5.1, §7.1); applied to every URL. */
export const scrapeOptionProperties = {
  prompt: Type.Optional(Type.String()),
  output: Type.Optional(OutputFormat),
  schema: Type.Optional(Type.Object({}, { additionalProperties: true })),
  useProxy: Type.Optional(Type.Boolean()),
  proxyCountry: Type.Optional(Type.String()),
  extractContentOnly: Type.Optional(Type.Boolean()),
  screenshot: Type.Optional(Type.Boolean()),
  fullPageScreenshot: Type.Optional(Type.Boolean()),
  cookies: Type.Optional(Type.String()),
  scrapeMode: Type.Optional(ScrapeMode),
};

/** POST /scrape (§5.1). Unknown keys are ignored; limits that are settings are checked in the route. */
export const ScrapeRequest = Type.Object(
  {
    urls: Type.Array(ScrapeUrl, { minItems: 1 }),
    ...scrapeOptionProperties,
  },
  { additionalProperties: true },
);
export type ScrapeRequest = Static<typeof ScrapeRequest>;

export const ScrapeSubmitResponse = Type.Object({
  status: Type.Literal("queued"),
  jobId: Type.String(),
  message: Type.String(),
  schema_warnings: Type.Optional(Type.Array(Type.String())),
});

export const ScrapeStats = Type.Object({
  durationMs: Type.Integer(),
  captchaSolvedCount: Type.Integer(),
  inputTokens: Type.Integer(),
  outputTokens: Type.Integer(),
  totalTokens: Type.Integer(),
  /** Internal: bytes through upstream proxies (shown in logs, not in the poll response). */
  proxyBytes: Type.Optional(Type.Integer()),
});
export type ScrapeStats = Static<typeof ScrapeStats>;

export const ScrapePageResult = Type.Object({
  url: Type.String(),
  title: Type.String(),
  markdownContent: Type.String(),
  success: Type.Boolean(),
  screenshotUrl: Nullable(Type.String()),
  error: Type.Optional(Nullable(Type.String())),
  statusCode: Type.Optional(Nullable(Type.Integer())),
});
export type ScrapePageResult = Static<typeof ScrapePageResult>;

export const ScrapeResult = Type.Object({
  content: Type.Unknown(),
  data: Type.Array(ScrapePageResult),
  screenshots: Type.Array(Type.String()),
  ai_extraction_failed: Type.Boolean(),
  stats: ScrapeStats,
});
export type ScrapeResult = Static<typeof ScrapeResult>;

export const ScrapeStatus = Type.Union([
  Type.Literal("waiting"),
  Type.Literal("delayed"),
  Type.Literal("active"),
  Type.Literal("completed"),
  Type.Literal("failed"),
]);

/** GET /scrape/{jobId} (§5.4): every key present in every state. */
export const ScrapeStatusResponse = Type.Object({
  status: ScrapeStatus,
  jobId: Type.String(),
  progress: Nullable(Progress),
  result: Nullable(ScrapeResult),
  error: Nullable(Type.String()),
  schema_warnings: Type.Optional(Type.Array(Type.String())),
});
export type ScrapeStatusResponse = Static<typeof ScrapeStatusResponse>;
