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

/**
 * The model stopped at its token limit (finish_reason "length"): a text answer is cut off mid-way,
 * a JSON answer is incomplete. Never passed off as a complete answer.
 */
export class LlmTruncatedError extends LlmInvalidJsonError {
  override name = "LlmTruncatedError";
  constructor(rawText: string, usage: LlmUsage) {
    super(rawText, usage, "length");
    this.message = "Model reply was cut off at the token limit (finish_reason length)";
  }
}

/** The caller's deadline (the job's time budget) passed before or during the call. */
export class LlmDeadlineError extends Error {
  override name = "LlmDeadlineError";
  constructor(message = "The time budget for model calls ran out", options?: { cause?: unknown }) {
    super(message, options);
  }
}

export type LlmErrorClass =
  | "timeout"
  | "deadline"
  | "connection"
  | "rate_limit"
  | "server"
  | "auth"
  | "bad_request"
  | "invalid_json"
  | "truncated"
  | "unknown";

/**
 * Maps an error thrown by an Llm call to a coarse class for logs and
 * `failureReason`. A 200 response whose body is not JSON surfaces from the
 * openai client as a SyntaxError and counts as invalid_json.
 */
export function classifyLlmError(err: unknown): LlmErrorClass {
  if (err instanceof LlmDeadlineError) return "deadline";
  // Order matters: the timeout class extends the connection class, truncated extends invalid JSON.
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
  if (err instanceof LlmTruncatedError) return "truncated";
  if (err instanceof LlmInvalidJsonError || err instanceof SyntaxError) return "invalid_json";
  if (err instanceof OpenAI.APIError && typeof err.status === "number") {
    return err.status >= 500 ? "server" : "bad_request";
  }
  return "unknown";
}
