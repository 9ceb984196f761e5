// Thin layer over the official openai client for any OpenAI-compatible
// endpoint (OpenAI, Ollama, vLLM, llama.cpp…): JSON answers through
// structured outputs where the server supports them, json_object otherwise.
import OpenAI from "openai";
import { makeStrictCompatible } from "../schema/make-strict-compatible.ts";
import { isPlainObject } from "../schema/schema-node.ts";
import type { SchemaNode } from "../schema/schema-node.ts";
import { LlmInvalidJsonError } from "./llm-errors.ts";
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
  /** Limit for each HTTP attempt, in ms. */
  timeoutMs: number;
  /** Retries by the openai client on connection errors, 408/409/429 and 5xx. Default 1: the job queue retries too. */
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

function schemaName(name: string | undefined): string {
  const cleaned = (name ?? "").replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64);
  return cleaned || "extraction";
}

function requestSchema(schema: object): { schema: SchemaNode; wrapped: boolean } {
  const strict = makeStrictCompatible(schema);
  if (strict.type === "object") return { schema: strict, wrapped: false };
  const wrapper = {
    type: "object",
    properties: { [WRAP_KEY]: strict },
    required: [WRAP_KEY],
    additionalProperties: false,
  };
  return { schema: wrapper, wrapped: true };
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
    maxRetries: opts.maxRetries ?? 1,
  });
  const { model, log } = opts;
  // "supported" once a json_schema call succeeded; "refused" after the first one was rejected.
  let structured: "unknown" | "supported" | "refused" = opts.structuredOutput === "json_object" ? "refused" : "unknown";
  const mayFallBack = opts.structuredOutput !== "json_schema";

  const chat = async (system: string, user: string, responseFormat?: ResponseFormat) => {
    const params: ChatParams = {
      model,
      messages: [
        { role: "system", content: system },
        { role: "user", content: user },
      ],
    };
    if (responseFormat) params.response_format = responseFormat;
    const completion = await client.chat.completions.create(params);
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
    if (!req.schema) return parse(await chat(system, req.user, { type: "json_object" }), false);

    const { schema, wrapped } = requestSchema(req.schema);
    if (structured !== "refused") {
      const format: ResponseFormat = {
        type: "json_schema",
        json_schema: { name: schemaName(req.schemaName), strict: true, schema },
      };
      try {
        const reply = await chat(system, req.user, format);
        structured = "supported";
        return parse(reply, wrapped);
      } catch (err) {
        const rejected = err instanceof OpenAI.BadRequestError || err instanceof OpenAI.UnprocessableEntityError;
        if (!rejected || !mayFallBack) throw err;
        // A first rejection means the server lacks structured outputs: remember it.
        // After successes, it is this schema that was refused: fall back once only.
        if (structured === "unknown") structured = "refused";
        log?.warn(
          { baseUrl, model, remembered: structured === "refused", status: err.status },
          "LLM endpoint refused json_schema response_format; using json_object with the schema in the prompt",
        );
      }
    }
    return parse(await chat(system + schemaInPrompt(schema), req.user, { type: "json_object" }), wrapped);
  };

  const completeText = async (req: LlmTextRequest): Promise<{ text: string; usage: LlmUsage }> => {
    const reply = await chat(req.system, req.user);
    return { text: reply.text, usage: reply.usage };
  };

  return { model, baseUrl, completeJson, completeText };
}
