// Thin layer over the official openai client for any OpenAI-compatible
// endpoint (OpenAI, Ollama, vLLM, llama.cpp…): JSON answers through
// structured outputs where the server supports them, json_object otherwise.
import OpenAI from "openai";
import { structuredOutputSchema } from "../schema/make-strict-compatible.ts";
import { isPlainObject } from "../schema/schema-node.ts";
import type { SchemaNode } from "../schema/schema-node.ts";
import { LlmDeadlineError, LlmInvalidJsonError, LlmTruncatedError } from "./llm-errors.ts";
import type { Llm, LlmJsonRequest, LlmLog, LlmTextRequest, LlmUsage } from "./llm-types.ts";
import { parseJsonReply } from "./parse-json-reply.ts";

/** Used when only an API key is configured. */
export const OPENAI_BASE_URL = "https://api.openai.com/v1";

export interface CreateLlmOptions {
  /** OpenAI-compatible endpoint including `/v1` (e.g. `http://ollama:11434/v1`). Default: OpenAI's when only `apiKey` is set. */
  baseUrl?: string;
  /** Bearer token. Optional for local servers (a placeholder is sent, the openai client insists on one). */
  apiKey?: string;
  /** Model id sent with every request. */
  model: string;
  /** Limit for each HTTP attempt, in ms (less when a request's deadline is nearer). */
  timeoutMs: number;
  /**
   * Retries on connection errors and timeouts, 408/409/429 and 5xx, after `retry-after(-ms)` or a
   * short backoff. A wait past the request's deadline or longer than `timeoutMs` is not made: the
   * error is thrown instead. Default 1: the job queue retries too.
   */
  maxRetries?: number;
  /**
   * How schema requests are sent. `auto` (default) tries `json_schema` and,
   * when the endpoint rejects it, uses `json_object` with the schema in the
   * prompt; `json_schema` never falls back; `json_object` never tries
   * structured outputs (for servers that accept json_schema but ignore it).
   */
  structuredOutput?: "auto" | "json_schema" | "json_object";
  /** Told (warn) when the endpoint refuses structured outputs and JSON mode is used instead. Default: silent. */
  log?: LlmLog;
}

type ChatParams = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
type ResponseFormat = NonNullable<ChatParams["response_format"]>;

/** Structured outputs require an object root; other roots travel inside this key. */
const WRAP_KEY = "data";

const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

function isCompleteJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function schemaName(name: string | undefined): string {
  const cleaned = (name ?? "").replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64);
  return cleaned || "extraction";
}

function requestSchema(schema: object): { schema: SchemaNode; wrapped: boolean; strict: boolean } {
  const { schema: sent, strict } = structuredOutputSchema(schema);
  if (sent.type === "object") return { schema: sent, wrapped: false, strict };
  const wrapper = {
    type: "object",
    properties: { [WRAP_KEY]: sent },
    required: [WRAP_KEY],
    additionalProperties: false,
  };
  return { schema: wrapper, wrapped: true, strict };
}

/**
 * Whether a 400/422 says the server will not take this response_format (no structured outputs,
 * or this schema refused), as opposed to any other bad request (context length, content filter…).
 * "named": the error mentions response_format/json_schema; "opaque": the body says nothing (some
 * servers answer a bare 400); "other": a different, named problem.
 */
function formatRefusal(err: unknown): "named" | "opaque" | "other" | undefined {
  if (!(err instanceof OpenAI.BadRequestError || err instanceof OpenAI.UnprocessableEntityError)) return undefined;
  const detail = err.error as unknown;
  if (detail === undefined || detail === null) return "opaque";
  const text = [err.param, err.code, err.message, JSON.stringify(detail)]
    .filter((v) => typeof v === "string")
    .join(" ");
  return /response[_ ]?format|json[_ ]?schema|structured[ _]outputs?|guided[_ ]?(json|decoding)/i.test(text)
    ? "named"
    : "other";
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Milliseconds asked for by `retry-after-ms` / `retry-after` (seconds or an HTTP date), if any. */
function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number.parseFloat(headers?.get("retry-after-ms") ?? "");
  if (Number.isFinite(ms)) return Math.max(0, ms);
  const value = headers?.get("retry-after");
  if (!value) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The wait before another attempt after `err`, or undefined when it is not worth retrying (as the openai client decides). */
function retryDelayMs(err: unknown, retry: number): number | undefined {
  if (err instanceof OpenAI.APIUserAbortError) return undefined;
  // Exponential backoff from 0.5 s up to 8 s with up to 25 % jitter, like the openai client's.
  const backoff = Math.min(500 * 2 ** retry, 8000) * (1 - Math.random() * 0.25);
  if (err instanceof OpenAI.APIConnectionError) return backoff;
  if (!(err instanceof OpenAI.APIError) || typeof err.status !== "number") return undefined;
  const hint = err.headers?.get("x-should-retry");
  if (hint === "false") return undefined;
  const { status } = err;
  if (hint !== "true" && !(status === 408 || status === 409 || status === 429 || status >= 500)) return undefined;
  return retryAfterMs(err.headers) ?? backoff;
}

function schemaInPrompt(schema: SchemaNode): string {
  return (
    "\n\nYour reply must be one JSON object conforming to this JSON Schema " +
    "(every listed property present, null when the value is unknown):\n" +
    `<json_schema>\n${JSON.stringify(schema)}\n</json_schema>`
  );
}

/**
 * Creates an Llm, or returns null when neither `baseUrl` nor `apiKey` is
 * configured (AI features then report ai_extraction_failed). Create one per
 * process and reuse it: whether the endpoint supports structured outputs is
 * learned on the first schema call and remembered by the instance.
 */
export function createLlm(opts: CreateLlmOptions): Llm | null {
  if (!opts.baseUrl && !opts.apiKey) return null;
  const baseUrl = opts.baseUrl || OPENAI_BASE_URL;
  const client = new OpenAI({
    baseURL: baseUrl,
    apiKey: opts.apiKey || "no-key",
    // Explicit nulls keep OPENAI_* environment variables from leaking in.
    organization: null,
    project: null,
    timeout: opts.timeoutMs,
    // Retries are made here (see send), where they can respect a request's deadline.
    maxRetries: 0,
  });
  const { model, log, timeoutMs } = opts;
  const maxRetries = Math.max(0, opts.maxRetries ?? 1);
  // "supported" once a json_schema call succeeded; "refused" after the first one was rejected
  // naming response_format, or with a bare 400 and json_object was then accepted.
  let structured: "unknown" | "supported" | "refused" = opts.structuredOutput === "json_object" ? "refused" : "unknown";
  const mayFallBack = opts.structuredOutput !== "json_schema";

  /** One completion with retries, each attempt and wait bounded by `deadline` (epoch ms) when given. */
  const send = async (params: ChatParams, deadline: number | undefined) => {
    for (let retry = 0; ; retry++) {
      const left = deadline === undefined ? Infinity : deadline - Date.now();
      if (left <= 0) throw new LlmDeadlineError();
      const timeout = Math.max(1, Math.ceil(Math.min(timeoutMs, left)));
      try {
        return await client.chat.completions.create(params, { timeout });
      } catch (err) {
        if (deadline !== undefined && Date.now() >= deadline) {
          throw new LlmDeadlineError("The time budget for model calls ran out during the call", { cause: err });
        }
        const wait = retry < maxRetries ? retryDelayMs(err, retry) : undefined;
        // A wait (a rate limit's retry-after) past the deadline, or longer than a call may take, is not made.
        if (wait === undefined || wait > timeoutMs || (deadline !== undefined && Date.now() + wait >= deadline)) {
          throw err;
        }
        await sleep(wait);
      }
    }
  };

  const chat = async (system: string, user: string, deadline: number | undefined, responseFormat?: ResponseFormat) => {
    const params: ChatParams = {
      model,
      messages: [
        { role: "system", content: system },
        { role: "user", content: user },
      ],
    };
    if (responseFormat) params.response_format = responseFormat;
    const completion = await send(params, deadline);
    const choice = completion.choices[0];
    // A raw NUL is never content, and JSON.parse refuses it inside a string. What the parsed answer
    // holds that Postgres cannot store (a \u0000 escape, half an emoji) is made storable where
    // results are written (the jsonb columns' storableJson in @orbweaver/db).
    const text = (choice?.message.content ?? "").replaceAll("\0", "");
    const usage: LlmUsage = {
      inputTokens: completion.usage?.prompt_tokens ?? estimateTokens(system + user),
      outputTokens: completion.usage?.completion_tokens ?? estimateTokens(text),
    };
    return { text, usage, finishReason: choice?.finish_reason ?? undefined };
  };

  const parse = (reply: Awaited<ReturnType<typeof chat>>, wrapped: boolean) => {
    // Cut at the token limit: only an answer that is complete JSON as it stands (a model padding
    // finished JSON with whitespace) is taken; recovering a {…} span from a cut one would not be.
    if (reply.finishReason === "length" && !isCompleteJson(reply.text)) {
      throw new LlmTruncatedError(reply.text, reply.usage);
    }
    const parsed = parseJsonReply(reply.text);
    if (!parsed.ok) throw new LlmInvalidJsonError(reply.text, reply.usage, reply.finishReason);
    const { value } = parsed;
    // In JSON mode the model may skip the wrapper; accept both shapes.
    const unwrapped = wrapped && isPlainObject(value) && WRAP_KEY in value ? value[WRAP_KEY] : value;
    return { value: unwrapped, usage: reply.usage };
  };

  const completeJson = async (req: LlmJsonRequest): Promise<{ value: unknown; usage: LlmUsage }> => {
    // json_object mode needs the word "JSON" in the messages (OpenAI rejects the request otherwise).
    const system = /json/i.test(req.system + req.user) ? req.system : `${req.system}\n\nRespond in JSON.`;
    const { deadline } = req;
    if (!req.schema) return parse(await chat(system, req.user, deadline, { type: "json_object" }), false);

    const { schema, wrapped, strict } = requestSchema(req.schema);
    // Set when json_schema got a bare 400: the json_object call below tells whether it was the format.
    let learnFromFallback = false;
    if (structured !== "refused") {
      const format: ResponseFormat = {
        type: "json_schema",
        json_schema: { name: schemaName(req.schemaName), strict, schema },
      };
      try {
        const reply = await chat(system, req.user, deadline, format);
        structured = "supported";
        return parse(reply, wrapped);
      } catch (err) {
        const refusal = formatRefusal(err);
        // Any other bad request (context length, content filter…) says nothing about structured outputs.
        if (refusal === undefined || refusal === "other" || !mayFallBack) throw err;
        // A first rejection naming response_format means the server lacks structured outputs:
        // remember it. After successes, it is this schema that was refused: fall back once only.
        // A first bare 400 without any detail is remembered only once json_object is accepted
        // (below): a request that fails either way says nothing about structured outputs.
        if (structured === "unknown" && refusal === "named") structured = "refused";
        learnFromFallback = structured === "unknown" && refusal === "opaque";
        log?.warn(
          { baseUrl, model, remembered: structured === "refused", status: (err as { status?: unknown }).status },
          "LLM endpoint refused json_schema response_format; using json_object with the schema in the prompt",
        );
      }
    }
    const reply = await chat(system + schemaInPrompt(schema), req.user, deadline, { type: "json_object" });
    // The endpoint answered json_object after a bare 400 to json_schema: skip json_schema from now on
    // rather than pay a failing call each time (a reply that is not JSON is the model's, not the format's).
    if (learnFromFallback && structured === "unknown") {
      structured = "refused";
      log?.info(
        { baseUrl, model, remembered: true },
        "LLM endpoint accepted json_object after a bare 400 to json_schema; using json_object from now on",
      );
    }
    return parse(reply, wrapped);
  };

  const completeText = async (req: LlmTextRequest): Promise<{ text: string; usage: LlmUsage }> => {
    const reply = await chat(req.system, req.user, req.deadline);
    // A cut-off text would pass for the whole answer: report it instead.
    if (reply.finishReason === "length") throw new LlmTruncatedError(reply.text, reply.usage);
    return { text: reply.text, usage: reply.usage };
  };

  return { model, baseUrl, completeJson, completeText };
}
