import {
  BatchCancelResponse,
  BatchIdParams,
  BatchListResponse,
  BatchRetryResponse,
  BatchScrapeRequest,
  BatchStatusResponse,
  BatchSubmitResponse,
  ErrorEnvelope,
  PageQuery,
} from "@orbweaver/contract";
import { cancelBatch, deriveBatchStatus, getBatch, listBatches, retryBatch } from "@orbweaver/db";
import { dispatchBatch } from "@orbweaver/queue";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { AppError } from "../../errors.ts";
import { checkCookies } from "../../use-cases/check-request-options.ts";
import { clampPage } from "../../use-cases/clamp-page.ts";
import { dispatchOrFail } from "../../use-cases/dispatch-or-fail.ts";
import { withIdempotency } from "../../use-cases/idempotency.ts";
import { nullMeansAbsent } from "../../use-cases/null-as-absent.ts";
import { presentBatch } from "./present-batch.ts";
import { submitBatch } from "./submit-batch.ts";
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

const batchRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { deps } = app;
  const prefix = deps.config.apiPrefix;

  app.post(
    "/batch/scrape",
    {
      schema: { tags: ["batch"], body: BatchScrapeRequest, response: { 202: BatchSubmitResponse, ...errors } },
      // An optional field sent as `null` is unset, as if left out.
      preValidation: nullMeansAbsent(BatchScrapeRequest),
    },
    async (request, reply) => {
      const {
        id: batchId,
        total,
        schemaWarnings,
      } = await withIdempotency(deps, request, {
        kind: "batch",
        create: async (idempotency) => {
          const created = await submitBatch(deps, { ...submitter(request), idempotency });
          return { id: created.batchId, total: created.total, schemaWarnings: created.schemaWarnings };
        },
        existing: async (id) => {
          const found = await getBatch(deps.db, { batchId: id, accountId: request.account.accountId });
          return { id, total: found?.batch.total ?? 0, schemaWarnings: found?.batch.schemaWarnings ?? [] };
        },
      });
      void reply.header("location", `${prefix}/batch/scrape/${batchId}`);
      return reply.status(202).send({
        status: "queued" as const,
        batchId,
        total,
        message: `Batch queued. Poll ${prefix}/batch/scrape/${batchId} for progress.`,
        ...(schemaWarnings.length > 0 ? { schema_warnings: schemaWarnings } : {}),
      });
    },
  );

  app.get(
    "/batch/scrape",
    { schema: { tags: ["batch"], querystring: PageQuery, response: { 200: BatchListResponse, ...errors } } },
    async (request) => {
      const { page, limit } = clampPage(request.query, { defaultLimit: 20, maxLimit: 50 });
      const { rows, total } = await listBatches(deps.db, { accountId: request.account.accountId, page, limit });
      return {
        jobs: rows.map(({ batch, counts, lastFinishedAt }) => {
          const status = deriveBatchStatus(batch, counts);
          const finished = batch.finishedAt ?? (status === "completed" ? lastFinishedAt : null);
          return {
            uuid: batch.id,
            status,
            totalUrls: batch.total,
            completedCount: counts.completed,
            failedCount: counts.failed,
            outputFormat: batch.outputFormat,
            scrapingChannel: batch.channel,
            createdAt: batch.createdAt.toISOString(),
            finishedAt: finished ? new Date(finished).toISOString() : null,
          };
        }),
        pagination: { page, limit, total, totalPages: Math.ceil(total / limit) },
      };
    },
  );

  app.get(
    "/batch/scrape/:batchId",
    { schema: { tags: ["batch"], params: BatchIdParams, response: { 200: BatchStatusResponse, ...errors } } },
    async (request) => {
      const found = await getBatch(deps.db, { batchId: request.params.batchId, accountId: request.account.accountId });
      if (!found) throw new AppError("NOT_FOUND", "Batch not found");
      return presentBatch(found.batch, found.items, deps.signBlob);
    },
  );

  app.delete(
    "/batch/scrape/:batchId",
    { schema: { tags: ["batch"], params: BatchIdParams, response: { 200: BatchCancelResponse, ...errors } } },
    async (request) => {
      const result = await cancelBatch(deps.db, {
        batchId: request.params.batchId,
        accountId: request.account.accountId,
      });
      if (!result.ok) {
        if (result.reason === "NOT_FOUND") throw new AppError("NOT_FOUND", "Batch not found");
        throw new AppError("ALREADY_TERMINAL", `Cannot cancel a batch that is already ${result.status ?? "finished"}.`);
      }
      // Best effort: the worker refuses cancelled jobs anyway if one is still delivered.
      await Promise.all(result.cancelledJobIds.map((id) => deps.scrapeQueue.remove(id).catch(() => 0)));
      return {
        status: "cancelled" as const,
        cancelledItems: result.cancelledItems,
        creditsRefunded: result.creditsRefunded,
      };
    },
  );

  app.post(
    "/batch/scrape/:batchId/retry",
    {
      schema: {
        tags: ["batch"],
        params: BatchIdParams,
        // No body schema: clients send no body, an empty one, `{}` or `{cookies}` (D28).
        response: { 202: BatchRetryResponse, ...errors },
      },
    },
    async (request, reply) => {
      // A retry may bring cookies again (they were never stored); checked before anything is retried.
      const sent = (request.body as { cookies?: unknown } | null | undefined)?.cookies;
      if (sent !== undefined && sent !== null && typeof sent !== "string") {
        throw new AppError("VALIDATION_ERROR", "cookies must be a string", { errors: ["cookies must be string"] });
      }
      const cookies = checkCookies({ header: sent ?? undefined, perUrl: [] });
      const maxPending = request.account.limits.maxPendingBatches ?? deps.config.limits.maxPendingBatches;
      const result = await retryBatch(deps.db, {
        batchId: request.params.batchId,
        accountId: request.account.accountId,
        maxPendingBatches: maxPending,
      });
      if (!result.ok) {
        if (result.reason === "NOT_FOUND") throw new AppError("NOT_FOUND", "Batch not found");
        if (result.reason === "NO_FAILED_ITEMS")
          throw new AppError("VALIDATION_ERROR", "This batch has no failed items to retry.");
        if (result.reason === "TOO_MANY_PENDING_JOBS") {
          throw new AppError("TOO_MANY_PENDING_JOBS", `Too many pending batches (limit ${maxPending}).`, {
            retryAfter: 5,
          });
        }
        throw new AppError("INSUFFICIENT_CREDITS", "Not enough credits to retry the failed items.");
      }
      // Sealed for the new jobs; when they cannot be (Redis down), the retried items fail refunded and
      // the client is told, rather than run later without the cookies it sent.
      if (cookies) {
        await dispatchOrFail(deps, {
          jobIds: result.jobIds,
          log: request.log,
          dispatch: () => Promise.all(result.jobIds.map((jobId) => deps.secrets.put(jobId, cookies))),
        });
      }
      // The retried items are in Postgres: when the queue is unreachable now, the reconciler dispatches them later.
      await dispatchBatch(deps.db, deps.scrapeQueue, {
        batchId: request.params.batchId,
        concurrency: deps.config.limits.batchConcurrency,
      }).catch((err: unknown) => request.log.warn({ err }, "retry dispatch deferred to the reconciler"));
      return reply.status(202).send({ status: "queued" as const, retriedCount: result.retriedCount });
    },
  );
};

export default batchRoutes;
