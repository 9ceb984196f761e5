import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { AppError } from "../errors.ts";

/** What Postgres cannot store in text or jsonb, found in a request. */
export interface UnstorableText {
  /** Where, as `at.key[0].key` (with " (a key)" when it is a key). */
  path: string;
  problem: "nul" | "surrogate";
}

function problemOf(text: string): UnstorableText["problem"] | null {
  if (text.includes("\0")) return "nul";
  return text.isWellFormed() ? null : "surrogate";
}

/**
 * The first text of a parsed request value Postgres would refuse: a NUL character (U+0000), or an
 * unpaired UTF-16 surrogate (JSON's `\ud800` alone; it cannot be written as UTF-8). Such a request
 * would fail its write, and a submit shares its write with other accounts' submits (the job
 * writer's groups). Keys are checked as well as values: a schema's property names are stored too.
 */
export function findUnstorableText(value: unknown, at: string): UnstorableText | null {
  if (typeof value === "string") {
    const problem = problemOf(value);
    return problem ? { path: at, problem } : null;
  }
  if (typeof value !== "object" || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorableText(value[i], `${at}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  for (const [key, inner] of Object.entries(value)) {
    const problem = problemOf(key);
    if (problem) return { path: `${at} (a key)`, problem };
    const found = findUnstorableText(inner, `${at}.${key}`);
    if (found) return found;
  }
  return null;
}

/** Longest `path` an error names: a key can be as long as the body allows. */
const MAX_PATH_CHARS = 200;

export function unstorableTextError(found: UnstorableText): AppError {
  const { problem } = found;
  const path = found.path.length > MAX_PATH_CHARS ? `${found.path.slice(0, MAX_PATH_CHARS)}…` : found.path;
  return new AppError(
    "VALIDATION_ERROR",
    problem === "nul"
      ? `${path} must not contain the NUL character (\\u0000)`
      : `${path} must be well-formed Unicode (it holds an unpaired surrogate such as \\ud800)`,
  );
}

/**
 * JSON text that may decode to unstorable text: a `\u0000` escape, or an escape of a surrogate
 * (`\ud800`-`\udfff`; a pair is fine, and is checked after parsing). Raw characters cannot be either:
 * JSON refuses a raw NUL in a string, and UTF-8 decoding never yields a lone surrogate.
 */
export const MAY_HOLD_UNSTORABLE_TEXT = /\\u(?:0000|[dD][89a-fA-F])/;

/**
 * Query strings and path parameters holding a NUL character (`%00`) or an unpaired surrogate are
 * refused with 400 before any handler reads them. JSON bodies are checked by the json-body parser.
 */
export default fp(
  async function storableText(app: FastifyInstance) {
    // A callback hook, not an async one: no promise per request on the hot routes.
    app.addHook("preValidation", (request, _reply, done) => {
      const found = findUnstorableText(request.params, "params") ?? findUnstorableText(request.query, "query");
      done(found ? unstorableTextError(found) : undefined);
    });
  },
  { name: "storable-text" },
);
