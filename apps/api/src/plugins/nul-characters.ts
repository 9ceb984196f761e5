import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { AppError } from "../errors.ts";

/**
 * Where the first NUL character (U+0000) of a parsed request value is, as `at.key[0].key`, or null
 * when there is none. Postgres stores no NUL in text or jsonb: a request holding one would fail its
 * write, and a submit shares its write with other accounts' submits (the job writer's groups).
 * Keys are checked as well as values: a schema's property names are stored too.
 */
export function nulPath(value: unknown, at: string): string | null {
  if (typeof value === "string") return value.includes("\0") ? at : null;
  if (typeof value !== "object" || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulPath(value[i], `${at}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  for (const [key, inner] of Object.entries(value)) {
    if (key.includes("\0")) return `${at} (a key)`;
    const found = nulPath(inner, `${at}.${key}`);
    if (found) return found;
  }
  return null;
}

export function nulCharacterError(path: string): AppError {
  return new AppError("VALIDATION_ERROR", `${path} must not contain the NUL character (\\u0000)`);
}

/**
 * Query strings and path parameters with a NUL character (`%00`) are refused with 400 before any
 * handler reads them. JSON bodies are checked by the json-body parser.
 */
export default fp(
  async function nulCharacters(app: FastifyInstance) {
    app.addHook("preValidation", async (request) => {
      const path = nulPath(request.params, "params") ?? nulPath(request.query, "query");
      if (path) throw nulCharacterError(path);
    });
  },
  { name: "nul-characters" },
);
