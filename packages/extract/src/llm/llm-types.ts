// Types shared by the LLM client and the extraction functions built on it.

/** Token counts as reported by the server (estimated as chars/4 when it reports none). */
export interface LlmUsage {
  inputTokens: number;
  outputTokens: number;
}

/** pino-compatible logger subset; production passes the job's child logger. */
export interface LlmLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface LlmJsonRequest {
  /** Trusted instructions (ours). */
  system: string;
  /** The task and the delimited page data. */
  user: string;
  /** JSON Schema the answer should follow; sent through structured outputs when the server supports them. */
  schema?: object;
  /** Structured-output schema name (letters, digits, `_`, `-`; max 64); default "extraction". */
  schemaName?: string;
  /** Epoch ms by which the call, retries included, must be over (see LlmTextRequest.deadline). */
  deadline?: number;
}

export interface LlmTextRequest {
  system: string;
  user: string;
  /**
   * Epoch ms by which the call, retries included, must be over: each HTTP attempt gets at most the
   * time left, no retry waits past it, and a call after it throws LlmDeadlineError.
   */
  deadline?: number;
}

export interface Llm {
  readonly model: string;
  readonly baseUrl: string;
  /**
   * One chat completion answered in JSON. Throws the openai client's errors
   * (see classifyLlmError), LlmInvalidJsonError (LlmTruncatedError when cut
   * at the token limit) or LlmDeadlineError; never validates against
   * the schema (that is enforceSchema's job).
   */
  completeJson(req: LlmJsonRequest): Promise<{ value: unknown; usage: LlmUsage }>;
  /** One chat completion answered in free text (Markdown, plain text, a table); a reply cut at the token limit throws LlmTruncatedError. */
  completeText(req: LlmTextRequest): Promise<{ text: string; usage: LlmUsage }>;
}

export const ZERO_USAGE: Readonly<LlmUsage> = Object.freeze({ inputTokens: 0, outputTokens: 0 });

export function addUsage(a: LlmUsage, b: LlmUsage): LlmUsage {
  return { inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens };
}
