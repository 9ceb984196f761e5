import {
  CrawlCancelResponse,
  CrawlDownloadQuery,
  CrawlExtractResponse,
  CrawlHistoryResponse,
  CrawlIdParams,
  CrawlJobRecord,
  CrawlPageParams,
  CrawlPagesResponse,
  CrawlRequest,
  CrawlRetryResponse,
  CrawlStatsResponse,
  CrawlStatusResponse,
  CrawlSubmitResponse,
  ErrorEnvelope,
  PageQuery,
} from "@orbweaver/contract";
import { Type } from "@sinclair/typebox";
import { cancelCrawl, countCrawlPages, countCrawls, getCrawl, listCrawlHistory, listCrawlPages } from "@orbweaver/db";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { AppError } from "../../errors.ts";
import { clampPage } from "../../use-cases/clamp-page.ts";
import { withIdempotency } from "../../use-cases/idempotency.ts";
import { nullMeansAbsent } from "../../use-cases/null-as-absent.ts";
import { buildCrawlZip, parseInclude } from "./download-crawl.ts";
import { submitCrawlExtraction } from "./extract-crawl.ts";
import { presentCrawlStatus, presentHistoryJob, presentJobRecord, presentPageRecord } from "./present-crawl.ts";
import { retryCrawlPage } from "./retry-crawl-page.ts";
import { submitCrawl } from "./submit-crawl.ts";
import { submitter } from "../submitter.ts";

const errors = {
  400: ErrorEnvelope,
  401: ErrorEnvelope,
  403: ErrorEnvelope,
  404: ErrorEnvelope,
  409: ErrorEnvelope,
  422: ErrorEnvelope,
  429: ErrorEnvelope,
  503: ErrorEnvelope,
};

/**
 * Crawls (§8). `history`, `stats` and `job/:id` are registered before `/:jobId` (and are static
 * segments, which the router prefers anyway), so they are never read as crawl ids.
 */
const crawlRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { deps } = app;
  const prefix = deps.config.apiPrefix;
  const tags = ["crawl"];
  const owned = async (jobId: string, accountId: string) => {
    const found = await getCrawl(deps.db, jobId, accountId);
    if (!found) throw new AppError("NOT_FOUND", "Crawl job not found");
    return found;
  };

  app.get(
    "/crawl/history",
    { schema: { tags, querystring: PageQuery, response: { 200: CrawlHistoryResponse, ...errors } } },
    async (request) => {
      const { page, limit } = clampPage(request.query, { defaultLimit: 10, maxLimit: 100 });
      const { rows, total } = await listCrawlHistory(deps.db, { accountId: request.account.accountId, page, limit });
      return { jobs: rows.map(presentHistoryJob), total, page, totalPages: Math.ceil(total / limit) };
    },
  );

  app.get("/crawl/stats", { schema: { tags, response: { 200: CrawlStatsResponse, ...errors } } }, async (request) => ({
    total: await countCrawls(deps.db, request.account.accountId),
  }));

  app.get(
    "/crawl/job/:jobId",
    { schema: { tags, params: CrawlIdParams, response: { 200: CrawlJobRecord, ...errors } } },
    async (request) => {
      const found = await owned(request.params.jobId, request.account.accountId);
      return presentJobRecord(found, await countCrawlPages(deps.db, found.crawl.id));
    },
  );

  app.post(
    "/crawl",
    {
      schema: { tags, body: CrawlRequest, response: { 202: CrawlSubmitResponse, ...errors } },
      // `maxDepth: null`, `includePaths: null`…: unset, as if left out (not coerced to 0 or [""]).
      preValidation: nullMeansAbsent(CrawlRequest),
    },
    async (request, reply) => {
      const { id: jobId, schemaWarnings } = await withIdempotency(deps, request, {
        kind: "crawl",
        create: async (idempotency) => {
          const created = await submitCrawl(deps, { ...submitter(request), idempotency });
          return { id: created.jobId, schemaWarnings: created.schemaWarnings };
        },
        existing: async (id) => {
          const found = await getCrawl(deps.db, id, request.account.accountId);
          return { id, schemaWarnings: found?.job.schemaWarnings ?? [] };
        },
      });
      void reply.header("location", `${prefix}/crawl/${jobId}`);
      return reply.status(202).send({
        status: "queued" as const,
        jobId,
        message: `Crawl job has been queued. Poll ${prefix}/crawl/${jobId} to get the result.`,
        ...(schemaWarnings.length > 0 ? { schema_warnings: schemaWarnings } : {}),
      });
    },
  );

  app.get(
    "/crawl/:jobId",
    { schema: { tags, params: CrawlIdParams, response: { 200: CrawlStatusResponse, ...errors } } },
    async (request) => {
      const found = await owned(request.params.jobId, request.account.accountId);
      const completed = found.job.status === "completed";
      const pages = completed ? await listCrawlPages(deps.db, found.crawl.id, ["success", "failed"]) : null;
      const crawled = completed && pages ? pages.length : undefined;
      return presentCrawlStatus(found, { pages, ...(crawled !== undefined ? { crawled } : {}), sign: deps.signBlob });
    },
  );

  app.get(
    "/crawl/:jobId/pages",
    { schema: { tags, params: CrawlIdParams, response: { 200: CrawlPagesResponse, ...errors } } },
    async (request) => {
      const found = await owned(request.params.jobId, request.account.accountId);
      // Finished pages only: the JS SDK's watcher emits each page once, at first sight, so a page
      // listed while still loading would never reach it with its data (D18 allows, not requires, pending).
      const pages = await listCrawlPages(deps.db, found.crawl.id, ["success", "failed"]);
      return { pages: pages.map((p) => presentPageRecord(p, deps.signBlob)) };
    },
  );

  app.post(
    "/crawl/:jobId/extract",
    {
      schema: {
        tags,
        params: CrawlIdParams,
        // Checked in the use case for the contract's exact messages (a missing body included).
        response: { 202: CrawlExtractResponse, ...errors },
      },
    },
    async (request, reply) => {
      const { id: jobId } = await withIdempotency(deps, request, {
        kind: `crawl-extract:${request.params.jobId}`,
        create: async (idempotency) => {
          const created = await submitCrawlExtraction(deps, {
            ...submitter(request),
            sourceId: request.params.jobId,
            idempotency,
          });
          return { id: created.jobId };
        },
        existing: async (id) => ({ id }),
      });
      void reply.header("location", `${prefix}/crawl/${jobId}`);
      return reply.status(202).send({
        status: "queued" as const,
        jobId,
        message: `Extraction job queued. Poll ${prefix}/crawl/${jobId} for results.`,
      });
    },
  );

  app.post(
    "/crawl/:jobId/retry/:pageId",
    // No body schema: clients send no body, an empty one or `{}`.
    { schema: { tags, params: CrawlPageParams, response: { 200: CrawlRetryResponse, ...errors } } },
    async (request) =>
      retryCrawlPage(deps, {
        accountId: request.account.accountId,
        crawlId: request.params.jobId,
        pageId: request.params.pageId,
        log: request.log,
      }),
  );

  app.delete(
    "/crawl/:jobId",
    { schema: { tags, params: CrawlIdParams, response: { 200: CrawlCancelResponse, ...errors } } },
    async (request) => {
      const found = await owned(request.params.jobId, request.account.accountId);
      const result = await cancelCrawl(deps.db, {
        crawlId: found.crawl.id,
        accountId: request.account.accountId,
        creditsPer1kTokens: deps.config.limits.creditsPer1kTokens,
      });
      if (!result.ok) {
        if (result.reason === "NOT_FOUND") throw new AppError("NOT_FOUND", "Crawl job not found");
        throw new AppError("ALREADY_TERMINAL", `Cannot cancel a crawl that is already ${result.status ?? "finished"}.`);
      }
      // Best effort: a running attempt stops at its next step anyway (its writes are refused).
      await deps.crawlQueue.remove(found.crawl.id).catch(() => 0);
      return { status: "cancelled" as const, jobId: found.crawl.id };
    },
  );

  app.get(
    "/crawl/:jobId/download",
    {
      schema: {
        tags,
        params: CrawlIdParams,
        querystring: CrawlDownloadQuery,
        response: { 200: Type.String({ description: "application/zip", format: "binary" }), ...errors },
      },
    },
    async (request, reply) => {
      const found = await owned(request.params.jobId, request.account.accountId);
      const include = parseInclude(request.query.include);
      const pages = await listCrawlPages(deps.db, found.crawl.id, ["success"]);
      const zip = await buildCrawlZip(deps.blobs, { found, pages, include });
      void reply
        .header("content-type", "application/zip")
        .header("content-disposition", `attachment; filename="crawl-${found.crawl.id}.zip"`);
      // A stream is sent as is (the 200 schema documents the binary body, it serialises nothing).
      return reply.send(zip as unknown as string);
    },
  );
};

export default crawlRoutes;
