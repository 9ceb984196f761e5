import {
  ErrorEnvelope,
  LogIdParams,
  ScrapeLogResponse,
  ScrapeLogsQuery,
  ScrapeLogsResponse,
} from "@orbweaver/contract";
import { getJob, listScrapeLogs } from "@orbweaver/db";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { AppError } from "../../errors.ts";
import { clampPage } from "../../use-cases/clamp-page.ts";
import { presentLog, presentLogDetail } from "./present-log.ts";

const EMPTY_IS_ABSENT = ["status", "dateStart", "dateEnd"] as const;
const errors = { 400: ErrorEnvelope, 401: ErrorEnvelope, 403: ErrorEnvelope, 404: ErrorEnvelope, 429: ErrorEnvelope };

/** Scrape logs (§9): every scrape job and batch item of the account, read from Postgres. */
const logsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    "/scrape-logs",
    {
      schema: { tags: ["logs"], querystring: ScrapeLogsQuery, response: { 200: ScrapeLogsResponse, ...errors } },
      // An empty filter (`?status=&dateStart=`, as a form or a filter map with blank entries sends
      // it) is no filter, as an empty `searchTerm` or `channel` already is, not a 400.
      preValidation: async (request) => {
        const query = request.query as Record<string, unknown>;
        for (const name of EMPTY_IS_ABSENT) {
          if (typeof query[name] === "string" && query[name].trim() === "") delete query[name];
        }
      },
    },
    async (request) => {
      const q = request.query;
      const { page, limit } = clampPage(q, { defaultLimit: 10, maxLimit: 100 });
      if (q.dateStart && q.dateEnd && q.dateStart > q.dateEnd) {
        throw new AppError("VALIDATION_ERROR", "dateStart must not be after dateEnd");
      }
      for (const [name, value] of [
        ["dateStart", q.dateStart],
        ["dateEnd", q.dateEnd],
      ] as const) {
        // Date.parse rolls 2026-02-30 over to March 2 and accepts year 0, both of which Postgres
        // refuses: the day must read back the same, from year 1 on.
        const parsed = value ? Date.parse(`${value}T00:00:00Z`) : 0;
        const real = !Number.isNaN(parsed) && new Date(parsed).toISOString().slice(0, 10) === value;
        if (value && (!real || value < "0001-01-01")) {
          throw new AppError("VALIDATION_ERROR", `${name} is not a valid date (YYYY-MM-DD)`);
        }
      }
      const status = q.status === "failed" ? "error" : (q.status as "success" | "error" | "in_progress" | undefined);
      const { rows, total } = await listScrapeLogs(app.deps.db, {
        accountId: request.account.accountId,
        page,
        limit,
        status,
        searchTerm: q.searchTerm?.trim() || undefined,
        channel: q.channel?.trim() || undefined,
        dateStart: q.dateStart,
        dateEnd: q.dateEnd,
      });
      return { status: "success" as const, data: { logs: rows.map(presentLog), total, page, limit } };
    },
  );

  app.get(
    "/scrape-logs/:uuid",
    { schema: { tags: ["logs"], params: LogIdParams, response: { 200: ScrapeLogResponse, ...errors } } },
    async (request) => {
      const row = await getJob(app.deps.db, request.params.uuid, request.account.accountId);
      if (!row || row.kind !== "scrape") throw new AppError("NOT_FOUND", "Scrape log not found");
      return { status: "success" as const, data: presentLogDetail(row) };
    },
  );
};

export default logsRoutes;
