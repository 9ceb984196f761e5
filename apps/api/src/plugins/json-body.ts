import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { AppError } from "../errors.ts";

/**
 * Clients send `Content-Type: application/json` with no body on retries and DELETEs (Go SDK, n8n):
 * an empty body parses as "no body" instead of failing.
 */
export default fp(
  async function jsonBody(app: FastifyInstance) {
    app.removeContentTypeParser("application/json");
    app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
      const text = typeof body === "string" ? body : body.toString("utf8");
      if (text.trim() === "") return done(null, undefined);
      try {
        done(null, JSON.parse(text));
      } catch {
        done(new AppError("VALIDATION_ERROR", "Request body is not valid JSON"), undefined);
      }
    });
  },
  { name: "json-body" },
);
