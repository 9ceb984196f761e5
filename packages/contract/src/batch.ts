import { Type, type Static } from "@sinclair/typebox";
import { Nullable } from "./common.ts";
import { scrapeOptionProperties } from "./scrape.ts";

/** POST /batch/scrape (§7.1): URLs as strings (or `{url}` objects), options applied to every URL. */
export const BatchScrapeRequest = Type.Object(
  {
    urls: Type.Array(Type.Union([Type.String(), Type.Object({ url: Type.String() }, { additionalProperties: true })]), {
      minItems: 1,
    }),
    ...scrapeOptionProperties,
  },
  { additionalProperties: true },
);
export type BatchScrapeRequest = Static<typeof BatchScrapeRequest>;

export const BatchSubmitResponse = Type.Object({
  status: Type.Literal("queued"),
  batchId: Type.String(),
  total: Type.Integer(),
  message: Type.String(),
  schema_warnings: Type.Optional(Type.Array(Type.String())),
});

const ItemStatus = Type.Union(["pending", "running", "completed", "failed", "cancelled"].map((s) => Type.Literal(s)));
const BatchStatus = ItemStatus;

export const BatchItem = Type.Object({
  uuid: Type.String(),
  url: Type.String(),
  jobId: Nullable(Type.String()),
  status: ItemStatus,
  result: Type.Unknown(),
  error: Nullable(Type.String()),
  creditsUsed: Type.Number(),
  startedAt: Nullable(Type.String()),
  finishedAt: Nullable(Type.String()),
  screenshotUrl: Nullable(Type.String()),
});
export type BatchItem = Static<typeof BatchItem>;

export const BatchStatusResponse = Type.Object({
  batchId: Type.String(),
  status: BatchStatus,
  totalUrls: Type.Integer(),
  completedCount: Type.Integer(),
  failedCount: Type.Integer(),
  createdAt: Type.String(),
  finishedAt: Nullable(Type.String()),
  items: Type.Array(BatchItem),
  schema_warnings: Type.Optional(Type.Array(Type.String())),
});
export type BatchStatusResponse = Static<typeof BatchStatusResponse>;

export const BatchIdParams = Type.Object({ batchId: Type.String() });

/** Go always sends both, possibly 0: values clamp instead of failing (§14). */
export const PageQuery = Type.Object(
  { page: Type.Optional(Type.Integer()), limit: Type.Optional(Type.Integer()) },
  { additionalProperties: true },
);

export const BatchListResponse = Type.Object({
  jobs: Type.Array(
    Type.Object({
      uuid: Type.String(),
      status: BatchStatus,
      totalUrls: Type.Integer(),
      completedCount: Type.Integer(),
      failedCount: Type.Integer(),
      outputFormat: Type.String(),
      scrapingChannel: Type.String(),
      createdAt: Type.String(),
      finishedAt: Nullable(Type.String()),
    }),
  ),
  pagination: Type.Object({
    page: Type.Integer(),
    limit: Type.Integer(),
    total: Type.Integer(),
    totalPages: Type.Integer(),
  }),
});

export const BatchCancelResponse = Type.Object({
  status: Type.Literal("cancelled"),
  cancelledItems: Type.Integer(),
  creditsRefunded: Type.Number(),
});

export const BatchRetryResponse = Type.Object({
  status: Type.Literal("queued"),
  retriedCount: Type.Integer(),
});
