import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { AppError } from "../errors.ts";
import { findUnstorableText, MAY_HOLD_UNSTORABLE_TEXT, unstorableTextError } from "./storable-text.ts";

/**
 * Deepest nesting of objects and arrays a request body may have. The deepest legitimate body (an
 * output schema at its 5-level cap, or forEach actions nested 3 levels) stays under 20; every
 * walker downstream (schema checks, canonical JSON, Postgres jsonb) is recursive, so a body nested
 * 100k deep is refused here, in one linear scan, before JSON.parse builds anything.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Nesting depth of JSON text, stopping as soon as it passes `limit`: brackets inside strings are
 * skipped (escapes included). Malformed text is left to JSON.parse to report.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
    }
  }
  return false;
}

/**
 * JSON bodies: clients send `Content-Type: application/json` with no body on retries and DELETEs
 * (Go SDK, n8n), so an empty body parses as "no body" instead of failing. The size limit
 * (`BODY_LIMIT_BYTES`) is enforced by Fastify while the body streams in, before this parser runs;
 * nesting beyond {@link MAX_JSON_DEPTH} is refused before parsing, prototype-poisoning keys by the parser,
 * text Postgres cannot store (a NUL character, an unpaired surrogate) anywhere after it (400 naming where).
 */
export default fp(
  async function jsonBody(app: FastifyInstance) {
    // Fastify's own parser (secure-json-parse): `__proto__` and `constructor.prototype` keys are
    // refused (400) instead of reaching code that might merge the body into another object.
    const secureParse = app.getDefaultJsonParser("error", "error");
    app.removeContentTypeParser("application/json");
    app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
      const text = typeof body === "string" ? body : body.toString("utf8");
      if (text.trim() === "") return done(null, undefined);
      if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
        return done(
          new AppError("VALIDATION_ERROR", `Request body is nested too deeply (more than ${MAX_JSON_DEPTH} levels)`),
          undefined,
        );
      }
      if (!MAY_HOLD_UNSTORABLE_TEXT.test(text)) return void secureParse(req, text, done);
      void secureParse(req, text, (err, parsed) => {
        const found = err ? null : findUnstorableText(parsed, "body");
        if (found) return done(unstorableTextError(found), undefined);
        done(err, parsed);
      });
    });
  },
  { name: "json-body" },
);
