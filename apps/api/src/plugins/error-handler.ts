import { ERROR_CODES } from "@orbweaver/contract";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { Duplex } from "node:stream";
import { isDbUnavailable, isDbValueRefused } from "@orbweaver/db";
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

/** Ajv errors read into messages, at most: enough for MAX_LISTED_ERRORS, the rest are only counted. */
const DESCRIBED_PROBLEMS = 100;

function capErrors(errors: string[] | undefined, unread = 0): string[] | undefined {
  if (!errors || errors.length + unread <= MAX_LISTED_ERRORS) return errors;
  return [...errors.slice(0, MAX_LISTED_ERRORS), `… and ${errors.length + unread - MAX_LISTED_ERRORS} more`];
}

type ValidationProblem = FastifyError["validation"] extends (infer V)[] | undefined ? V : never;

/**
 * Ajv's errors as one message per problem. A field that takes one of a few values or types (an
 * `anyOf` of `const`s and `type`s, like `output`) fails each alternative separately; those errors
 * become one that names what the field accepts: `must be one of: json, markdown, text, table`.
 */
export function describeValidation(problems: ValidationProblem[]): Array<{ instancePath: string; message: string }> {
  const at = (instancePath: string, schemaPath: string) => `${instancePath}\u0000${schemaPath}`;
  // The unions that failed, by where they are in the value and in the schema.
  const unions = new Map<string, { union: ValidationProblem; choices: ValidationProblem[]; plain: boolean }>();
  for (const p of problems) {
    if (p.keyword === "anyOf" || p.keyword === "oneOf")
      unions.set(at(p.instancePath, p.schemaPath), { union: p, choices: [], plain: true });
  }
  if (unions.size > 0) {
    for (const p of problems) {
      // A choice of the union right above it: a `const`, `enum` or `type` of one alternative, at the same place.
      const choice = /^(.*)\/\d+\/(const|enum|type)$/.exec(p.schemaPath);
      const direct = choice ? unions.get(at(p.instancePath, choice[1] ?? "")) : undefined;
      direct?.choices.push(p);
      // Any other error inside an alternative (a property of an object alternative, a nested union)
      // means the union is not a plain choice of values: its errors stay as Ajv wrote them.
      const places = p.instancePath.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"));
      for (const m of p.schemaPath.matchAll(/\/(?:anyOf|oneOf)\/\d+/g)) {
        const unionPath = p.schemaPath.slice(0, m.index + m[0].lastIndexOf("/"));
        for (const place of places) {
          const outer = unions.get(at(place, unionPath));
          if (outer && outer !== direct) outer.plain = false;
        }
      }
    }
  }
  /** Each error of a merged union → the union's message, on the first of them (in Ajv's order) only. */
  const merged = new Map<ValidationProblem, string | undefined>();
  for (const { union, choices, plain } of unions.values()) {
    if (!plain || choices.length === 0) continue;
    const values = choices.flatMap((p) => {
      const params = p.params as { allowedValue?: unknown; allowedValues?: unknown[] };
      return p.keyword === "const" ? [params.allowedValue] : p.keyword === "enum" ? (params.allowedValues ?? []) : [];
    });
    const types = choices.flatMap((p) =>
      p.keyword === "type" ? String((p.params as { type?: unknown }).type).split(",") : [],
    );
    const typed = types.map((t) => `${/^[aeiou]/.test(t) ? "an" : "a"} ${t}`).join(" or ");
    const message =
      values.length > 0
        ? `must be one of: ${values.map(String).join(", ")}${typed ? `, or ${typed}` : ""}`
        : `must be ${typed}`;
    merged.set(choices[0] ?? union, message);
    for (const p of [union, ...choices.slice(1)]) if (!merged.has(p)) merged.set(p, undefined);
  }
  const described: Array<{ instancePath: string; message: string }> = [];
  for (const p of problems) {
    if (merged.has(p)) {
      const message = merged.get(p);
      if (message) described.push({ instancePath: p.instancePath, message });
      continue;
    }
    const allowed = (p.params as { allowedValues?: unknown[] }).allowedValues;
    described.push({
      instancePath: p.instancePath,
      message: `${p.message ?? "is invalid"}${allowed ? ` (${allowed.join(", ")})` : ""}`,
    });
  }
  return described;
}

/**
 * Fastify's `clientErrorHandler`: a request Node's HTTP parser refuses before Fastify sees it (headers
 * or a query string past the size limit, a malformed request line, a request that timed out) gets
 * the contract's envelope too, then the connection is closed as Node does.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const [status, reason, message] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, "Request Timeout", "The request took too long to arrive"]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large", "The request's headers (or its query string) are too large"]
        : [400, "Bad Request", "The request is not valid HTTP"];
  const body = JSON.stringify(errorBody(message, { errors: status === 400 ? [message] : undefined }));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** Errors Fastify answers before any route or error handler runs, with a clear message each. */
const FRAMEWORK_ERRORS: Record<string, { status: number; message: string }> = {
  FST_ERR_BAD_URL: {
    status: 400,
    message: "The request path is not a valid URL: it holds a malformed percent-encoding (such as %zz)",
  },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, message: "A segment of the request path is too long" },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, message: "The request matches no route" },
};

/**
 * Fastify's `frameworkErrors`: the errors its router answers itself (a malformed percent-encoding
 * in the path, a path segment past `maxParamLength`, a failed route constraint) leave in the
 * contract's envelope as well, with a 4xx status, never Fastify's own body.
 */
export function frameworkErrorHandler(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const known = err.code ? FRAMEWORK_ERRORS[err.code] : undefined;
  const { status, message } = known ?? {
    status: err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400,
    message: "The request cannot be handled",
  };
  void reply.status(status).send(errorBody(message, { errors: status === 400 ? [message] : undefined }));
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
        const read = err.validation.slice(0, DESCRIBED_PROBLEMS);
        const errors = describeValidation(read).map(({ instancePath, message }) => {
          return `${err.validationContext ?? "body"}${instancePath.replace(/\//g, ".")} ${message}`;
        });
        return reply.status(400).send(
          errorBody(`Invalid request: ${errors[0] ?? "bad input"}`, {
            errors: capErrors(errors, err.validation.length - read.length),
          }),
        );
      }
      const known = err.code ? FASTIFY_CLIENT_ERRORS[err.code] : undefined;
      const client =
        known ??
        (err.statusCode && err.statusCode >= 400 && err.statusCode < 500
          ? { status: err.statusCode, message: err.message }
          : undefined);
      if (client) {
        return reply
          .status(client.status)
          .send(errorBody(client.message, { errors: client.status === 400 ? [client.message] : undefined }));
      }
      // A value no check before the write caught and Postgres cannot store: the request's fault.
      if (isDbValueRefused(err)) {
        request.log.warn({ err }, "the database refused a value of the request");
        const message = "The request holds a value the database cannot store";
        return reply.status(400).send(errorBody(message, { errors: [message] }));
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
