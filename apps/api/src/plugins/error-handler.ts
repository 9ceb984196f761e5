import { ERROR_CODES } from "@orbweaver/contract";
import type { FastifyError, FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { isDbUnavailable } from "@orbweaver/db";
import { BlobStoreUnavailableError } from "@orbweaver/storage";
import { AppError, errorBody } from "../errors.ts";

/** Fastify's own error codes for bad requests, mapped to a clear message. */
const FASTIFY_CLIENT_ERRORS: Record<string, { status: number; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, message: "Request body is not valid JSON" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, message: "Request body is empty" },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, message: "Request body is too large" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, message: "Content-Type must be application/json" },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, message: "Content-Length does not match the body" },
};

/**
 * Most problems listed in `errors[]`: a body with 10k bad array elements gets the first ones and a
 * count, not a megabyte of messages.
 */
export const MAX_LISTED_ERRORS = 20;

function capErrors(errors: string[] | undefined): string[] | undefined {
  if (!errors || errors.length <= MAX_LISTED_ERRORS) return errors;
  return [...errors.slice(0, MAX_LISTED_ERRORS), `… and ${errors.length - MAX_LISTED_ERRORS} more`];
}

/** One error path: every error leaves in the contract's envelope; 5xx never echo internals. */
export default fp(
  async function errorHandler(app: FastifyInstance) {
    app.setErrorHandler((err: FastifyError, request, reply) => {
      if (err instanceof AppError) {
        const exposeCode = ERROR_CODES[err.code].exposeCode;
        if (err.extra.retryAfter !== undefined) void reply.header("retry-after", String(err.extra.retryAfter));
        return reply.status(err.statusCode).send(
          errorBody(err.message, {
            code: exposeCode ? err.code : undefined,
            // A 400 always lists its problems (contract §3.1), one when the check named a single one.
            errors: capErrors(err.extra.errors ?? (err.statusCode === 400 ? [err.message] : undefined)),
            retryAfter: err.extra.retryAfter,
          }),
        );
      }
      if (err.validation) {
        const errors = err.validation.map((v) => {
          const where = `${err.validationContext ?? "body"}${v.instancePath.replace(/\//g, ".")}`;
          const allowed = (v.params as { allowedValues?: unknown[] }).allowedValues;
          return `${where} ${v.message ?? "is invalid"}${allowed ? ` (${allowed.join(", ")})` : ""}`;
        });
        return reply
          .status(400)
          .send(errorBody(`Invalid request: ${errors[0] ?? "bad input"}`, { errors: capErrors(errors) }));
      }
      const known = err.code ? FASTIFY_CLIENT_ERRORS[err.code] : undefined;
      if (known) return reply.status(known.status).send(errorBody(known.message));
      if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
        return reply.status(err.statusCode).send(errorBody(err.message));
      }
      // Postgres or the file store down or restarting: a temporary condition the client should retry, not a bug.
      if (isDbUnavailable(err) || err instanceof BlobStoreUnavailableError) {
        request.log.warn(
          { err },
          err instanceof BlobStoreUnavailableError ? "file store unavailable" : "database unavailable",
        );
        void reply.header("retry-after", "5");
        return reply.status(503).send(
          errorBody("The service is temporarily unavailable; try again shortly.", {
            code: "SERVICE_BUSY",
            retryAfter: 5,
          }),
        );
      }
      request.log.error({ err }, "unhandled error");
      return reply.status(500).send(errorBody("Internal server error"));
    });

    app.setNotFoundHandler((request, reply) => {
      void reply.status(404).send(errorBody(`Route ${request.method} ${request.url.split("?")[0]} not found`));
    });
  },
  { name: "error-handler" },
);
