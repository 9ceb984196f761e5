import {
  ErrorEnvelope,
  JobIdParams,
  ScrapeRequest,
  ScrapeUrl,
  ScrapeStatusResponse,
  ScrapeSubmitResponse,
} from "@orbweaver/contract";
import { FINISHED as FINISHED_STATUSES, getJob } from "@orbweaver/db";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { AppError } from "../../errors.ts";
import { withIdempotency } from "../../use-cases/idempotency.ts";
import { nullMeansAbsent, nullMeansAbsentInItems } from "../../use-cases/null-as-absent.ts";
import { createFinishedJobCache, sendSerialized } from "../../use-cases/finished-job-cache.ts";
import { describeWindow, scrapeRetention } from "../../use-cases/scrape-retention.ts";
import { presentScrapeJob } from "./present-scrape-job.ts";
import { submitScrape } from "./submit-scrape.ts";
import { submitter } from "../submitter.ts";

const errors = {
  400: ErrorEnvelope,
  401: ErrorEnvelope,
  403: ErrorEnvelope,
  404: ErrorEnvelope,
  422: ErrorEnvelope,
  429: ErrorEnvelope,
  503: ErrorEnvelope,
};

const FINISHED: ReadonlySet<string> = new Set(FINISHED_STATUSES);

const scrapeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const finished = createFinishedJobCache();
  const { limits } = app.deps.config;
  app.post(
    "/scrape",
    {
      schema: { tags: ["scrape"], body: ScrapeRequest, response: { 202: ScrapeSubmitResponse, ...errors } },
      // `schema: null`, `output: null`, `urls[i].actions: null`…: unset, as if left out (not coerced or refused).
      preValidation: [nullMeansAbsent(ScrapeRequest), nullMeansAbsentInItems("urls", ScrapeUrl)],
    },
    async (request, reply) => {
      const { id: jobId, schemaWarnings } = await withIdempotency(app.deps, request, {
        kind: "scrape",
        create: async (idempotency) => {
          const created = await submitScrape(app.deps, { ...submitter(request), idempotency });
          return { id: created.jobId, schemaWarnings: created.schemaWarnings };
        },
        existing: async (id) => {
          const row = await getJob(app.deps.db, id, request.account.accountId);
          return { id, schemaWarnings: row?.schemaWarnings ?? [] };
        },
      });
      void reply.header("location", `${app.deps.config.apiPrefix}/scrape/${jobId}`);
      return reply.status(202).send({
        status: "queued" as const,
        jobId,
        message: `Scrape job has been queued. Poll ${app.deps.config.apiPrefix}/scrape/${jobId} to get the result.`,
        ...(schemaWarnings.length > 0 ? { schema_warnings: schemaWarnings } : {}),
      });
    },
  );

  app.get(
    "/scrape/:jobId",
    { schema: { tags: ["scrape"], params: JobIdParams, response: { 200: ScrapeStatusResponse, ...errors } } },
    async (request, reply) => {
      const { accountId } = request.account;
      const cached = finished.get(request.params.jobId, accountId);
      if (cached !== undefined) return sendSerialized(reply, cached);
      const row = await getJob(app.deps.db, request.params.jobId, accountId);
      if (!row || row.kind !== "scrape") throw new AppError("NOT_FOUND", "Scrape job not found");
      const retention = scrapeRetention(row, limits);
      if (retention && retention.expiresAt <= Date.now()) {
        throw new AppError(
          "NOT_FOUND",
          `Scrape job not found: a ${row.status} scrape is readable here for ${describeWindow(retention.keepMs)} after it finished; ` +
            `${app.deps.config.apiPrefix}/scrape-logs/${row.id} keeps its result`,
        );
      }
      const body = presentScrapeJob(row, app.deps.signBlob);
      // A finished job never changes again (a batch item can be retried, so only single scrapes).
      if (!FINISHED.has(row.status) || row.batchId !== null) return body;
      const json = reply.serializeInput(body, "200") as string;
      finished.set(row.id, accountId, json, retention?.expiresAt);
      return sendSerialized(reply, json);
    },
  );
};

export default scrapeRoutes;
