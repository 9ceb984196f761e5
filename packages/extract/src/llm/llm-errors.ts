// Error taxonomy for model calls. Classification goes by the openai client's
// error classes (stable API), never by message text (varies per server).
import OpenAI from "openai";
import type { LlmUsage } from "./llm-types.ts";

/** The model answered, but not with parseable JSON (or with nothing at all). */
export class LlmInvalidJsonError extends Error {
  override name = "LlmInvalidJsonError";
  constructor(
    /** The reply text as received (may be empty). */
    readonly rawText: string,
    /** Tokens the failed call still consumed. */
    readonly usage: LlmUsage,
    /** The completion's finish_reason ("length" means the answer was cut off). */
    readonly finishReason?: string,
  ) {
    super(
      rawText.trim()
        ? `Model reply is not valid JSON${finishReason === "length" ? " (truncated at the token limit)" : ""}`
        : "Model reply is empty",
    );
  }
}

export type LlmErrorClass =
  "timeout" | "connection" | "rate_limit" | "server" | "auth" | "bad_request" | "invalid_json" | "unknown";

/**
 * Maps an error thrown by an Llm call to a coarse class for logs and
 * `failureReason`. A 200 response whose body is not JSON surfaces from the
 * openai client as a SyntaxError and counts as invalid_json.
 */
export function classifyLlmError(err: unknown): LlmErrorClass {
  // Order matters: the timeout class extends the connection class.
  if (err instanceof OpenAI.APIConnectionTimeoutError) return "timeout";
  if (err instanceof OpenAI.APIConnectionError) return "connection";
  if (err instanceof OpenAI.RateLimitError) return "rate_limit";
  if (err instanceof OpenAI.InternalServerError) return "server";
  if (err instanceof OpenAI.AuthenticationError || err instanceof OpenAI.PermissionDeniedError) return "auth";
  if (
    err instanceof OpenAI.BadRequestError ||
    err instanceof OpenAI.UnprocessableEntityError ||
    err instanceof OpenAI.NotFoundError ||
    err instanceof OpenAI.ConflictError
  ) {
    return "bad_request";
  }
  if (err instanceof LlmInvalidJsonError || err instanceof SyntaxError) return "invalid_json";
  if (err instanceof OpenAI.APIError && typeof err.status === "number") {
    return err.status >= 500 ? "server" : "bad_request";
  }
  return "unknown";
}
