import { Type } from "@sinclair/typebox";
import { Nullable } from "./common.ts";

/** GET /scrape-logs query (§9.1); unknown keys ignored, page/limit clamped. */
export const ScrapeLogsQuery = Type.Object(
  {
    page: Type.Optional(Type.Integer()),
    limit: Type.Optional(Type.Integer()),
    status: Type.Optional(
      Type.Union(
        ["success", "error", "in_progress", "failed"].map((s) => Type.Literal(s)),
        {
          description: "`failed` is read as `error`",
        },
      ),
    ),
    searchTerm: Type.Optional(Type.String()),
    channel: Type.Optional(Type.String()),
    dateStart: Type.Optional(Type.String({ pattern: "^\\d{4}-\\d{2}-\\d{2}$" })),
    dateEnd: Type.Optional(Type.String({ pattern: "^\\d{4}-\\d{2}-\\d{2}$" })),
  },
  { additionalProperties: true },
);

const logFields = {
  uuid: Type.String(),
  urls: Type.Array(Type.Object({ url: Type.String() })),
  extraction_prompt: Nullable(Type.String()),
  status: Type.Union(["success", "error", "in_progress"].map((s) => Type.Literal(s))),
  channel: Type.String(),
  credits_used: Type.Number(),
  started_at: Type.String(),
  finished_at: Nullable(Type.String()),
  error_message: Nullable(Type.String()),
  input_tokens: Type.Integer(),
  output_tokens: Type.Integer(),
  tokens_used: Type.Integer(),
  latency_ms: Nullable(Type.Integer()),
  ai_output_format: Nullable(Type.String()),
  use_proxy: Type.Integer(),
  proxy_country: Nullable(Type.String()),
  proxy_bandwidth_mb: Type.Number(),
};

export const ScrapeLog = Type.Object(logFields);

export const ScrapeLogDetail = Type.Object({
  ...logFields,
  captcha_solved_count: Type.Integer(),
  scraped_sites_count: Type.Integer(),
  result_data: Type.Unknown(),
});

export const ScrapeLogsResponse = Type.Object({
  status: Type.Literal("success"),
  data: Type.Object({
    logs: Type.Array(ScrapeLog),
    total: Type.Integer(),
    page: Type.Integer(),
    limit: Type.Integer(),
  }),
});

export const ScrapeLogResponse = Type.Object({ status: Type.Literal("success"), data: ScrapeLogDetail });

export const LogIdParams = Type.Object({ uuid: Type.String() });
