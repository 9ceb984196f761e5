// Types and wire-format builders for the fake OpenAI-compatible server. The
// production code talks to it through the official `openai` client, so the
// shapes here mirror api.openai.com (and the error envelope vLLM/llama.cpp use).
import type { IncomingHttpHeaders } from "node:http";

export interface TokenUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

/** 200 chat completion. Objects are JSON.stringified into message.content. */
export interface ContentReply {
  content: string | object;
  usage?: TokenUsage;
  /** Default "stop"; use "length" to simulate truncation. */
  finishReason?: string;
  /** Overrides the echoed request model. */
  model?: string;
}

/** Error in OpenAI's {error:{message,type,param,code}} envelope. */
export interface ErrorReply {
  status: number;
  error?: {
    message: string;
    type?: string;
    code?: string | number | null;
    param?: string | null;
  };
  headers?: Record<string, string>;
}

/** Waits, then answers with `then` (or the default reply when omitted). */
export interface DelayReply {
  delayMs: number;
  then?: ScriptedReply;
}

/** Waits until `until` settles, then answers with `then` (or the default reply when omitted). */
export interface WaitReply {
  until: Promise<unknown>;
  then?: ScriptedReply;
}

/** Never answers; the socket stays open until the client gives up or close(). */
export interface HangReply {
  hang: true;
}

/** Sends `raw` verbatim as the response body (e.g. invalid JSON). */
export interface RawReply {
  raw: string;
  /** Default 200. */
  status?: number;
  /** Default "application/json". */
  contentType?: string;
}

/**
 * If the request uses response_format.type "json_schema", answer 400 like
 * servers without structured-output support do; otherwise this entry is
 * skipped and the next queued reply (or the default) answers instead.
 */
export interface RejectJsonSchemaReply {
  rejectJsonSchema: true;
}

export type ScriptedReply =
  ContentReply | ErrorReply | DelayReply | WaitReply | HangReply | RawReply | RejectJsonSchemaReply;

export interface RecordedRequest {
  method: string;
  /** Path including query string, e.g. "/v1/chat/completions". */
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body; undefined when empty or not JSON (see rawBody). */
  body: unknown;
  rawBody: string;
}

export interface ChatMessage {
  role: string;
  content?: unknown;
  [key: string]: unknown;
}

export interface ResponseFormat {
  type: string;
  json_schema?: {
    name?: string;
    schema?: Record<string, unknown>;
    strict?: boolean | null;
    [key: string]: unknown;
  };
}

/** A recorded /chat/completions request with the interesting fields pulled out. */
export interface ChatRequestView {
  model: string | undefined;
  messages: ChatMessage[];
  response_format: ResponseFormat | undefined;
  /** Text of all messages joined by newlines (content parts flattened). */
  promptText: string;
  body: Record<string, unknown>;
  request: RecordedRequest;
}

export function messageText(message: ChatMessage): string {
  const { content } = message;
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) =>
        part !== null && typeof part === "object" && "text" in part && typeof part.text === "string" ? part.text : "",
      )
      .join("");
  }
  return "";
}

export function isChatRequest(req: RecordedRequest): boolean {
  return req.method === "POST" && req.path.split("?")[0]?.endsWith("/chat/completions") === true;
}

export function toChatView(request: RecordedRequest): ChatRequestView {
  const body =
    request.body !== null && typeof request.body === "object" ? (request.body as Record<string, unknown>) : {};
  const messages = Array.isArray(body.messages) ? (body.messages as ChatMessage[]) : [];
  const rf = body.response_format;
  return {
    model: typeof body.model === "string" ? body.model : undefined,
    messages,
    response_format: rf !== null && typeof rf === "object" ? (rf as ResponseFormat) : undefined,
    promptText: messages.map(messageText).join("\n"),
    body,
    request,
  };
}

export function chatRequests(requests: readonly RecordedRequest[]): ChatRequestView[] {
  return requests.filter(isChatRequest).map(toChatView);
}

export function lastChatRequest(requests: readonly RecordedRequest[]): ChatRequestView | undefined {
  return chatRequests(requests).at(-1);
}

// Mirrors the type/code pairs api.openai.com sends for common statuses.
const ERROR_DEFAULTS: Record<number, { message: string; type: string; code: string | null }> = {
  400: {
    message: "Invalid request",
    type: "invalid_request_error",
    code: null,
  },
  401: {
    message: "Incorrect API key provided",
    type: "invalid_request_error",
    code: "invalid_api_key",
  },
  403: {
    message: "You are not allowed to access this resource",
    type: "invalid_request_error",
    code: null,
  },
  404: {
    message: "The model does not exist",
    type: "invalid_request_error",
    code: "model_not_found",
  },
  429: {
    message: "Rate limit reached for requests",
    type: "requests",
    code: "rate_limit_exceeded",
  },
  500: {
    message: "The server had an error while processing your request",
    type: "server_error",
    code: null,
  },
  503: {
    message: "The server is overloaded or not ready yet",
    type: "server_error",
    code: null,
  },
};

export function errorEnvelope(status: number, error?: ErrorReply["error"]): string {
  const d = ERROR_DEFAULTS[status] ?? {
    message: `Error ${status}`,
    type: status >= 500 ? "server_error" : "invalid_request_error",
    code: null,
  };
  return JSON.stringify({
    error: {
      message: error?.message ?? d.message,
      type: error?.type ?? d.type,
      param: error?.param ?? null,
      code: error?.code !== undefined ? error.code : d.code,
    },
  });
}

export const JSON_SCHEMA_REJECTION = {
  message: "response_format type 'json_schema' is not supported by this server; use 'json_object' or 'text'",
  type: "invalid_request_error",
  param: "response_format",
  code: null,
} as const;

const estimateTokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4));

export function completionBody(reply: ContentReply, chat: ChatRequestView, id: string): string {
  const content = typeof reply.content === "string" ? reply.content : JSON.stringify(reply.content);
  const prompt_tokens = reply.usage?.prompt_tokens ?? estimateTokens(chat.promptText);
  const completion_tokens = reply.usage?.completion_tokens ?? estimateTokens(content);
  return JSON.stringify({
    id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: reply.model ?? chat.model ?? "test-model",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: reply.finishReason ?? "stop",
      },
    ],
    usage: {
      prompt_tokens,
      completion_tokens,
      total_tokens: prompt_tokens + completion_tokens,
    },
    system_fingerprint: null,
  });
}
