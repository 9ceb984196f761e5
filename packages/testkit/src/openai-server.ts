// Scriptable OpenAI-compatible server standing in for OpenAI/Ollama/vLLM in
// tests. Chat replies come from a FIFO queue, then a default, then "{}".
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { listenTracked } from "./listen.ts";
import {
  chatRequests,
  completionBody,
  errorEnvelope,
  JSON_SCHEMA_REJECTION,
  lastChatRequest,
  toChatView,
} from "./openai-wire.ts";
import type { ChatRequestView, ContentReply, RecordedRequest, ScriptedReply } from "./openai-wire.ts";

export type DefaultReply = ScriptedReply | ((req: ChatRequestView) => ScriptedReply);

export interface OpenAIServerOptions {
  host?: string;
  port?: number;
  /** When set, requests must send `Authorization: Bearer <apiKey>` or get 401. */
  apiKey?: string;
  /** Ids listed by GET /v1/models. Default ["test-model"]. */
  models?: string[];
}

export interface OpenAIServer {
  /** e.g. http://127.0.0.1:43122/v1 — pass as `baseURL` to the openai client. */
  baseURL: string;
  origin: string;
  port: number;
  /** Every request received, in order (cleared in place by reset()). */
  requests: RecordedRequest[];
  /** Queue replies; each chat completion request consumes one (FIFO). */
  enqueue(...replies: ScriptedReply[]): void;
  /** Used when the queue is empty. A function receives the parsed request. */
  setDefault(reply: DefaultReply | undefined): void;
  /** Number of queued replies not yet consumed. */
  pending(): number;
  chatRequests(): ChatRequestView[];
  lastChat(): ChatRequestView | undefined;
  /** Clears queue, default and recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

type FinalReply = Exclude<
  ScriptedReply,
  { delayMs: number } | { until: Promise<unknown> } | { rejectJsonSchema: true }
>;

const BUILTIN_REPLY: ContentReply = { content: "{}" };

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** Resolves after `ms`, or early when the client goes away (its timeout fired). */
function delay(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    res.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function startOpenAIServer(opts: OpenAIServerOptions = {}): Promise<OpenAIServer> {
  const requests: RecordedRequest[] = [];
  const queue: ScriptedReply[] = [];
  let defaultReply: DefaultReply | undefined;
  let counter = 0;

  const resolveReply = async (chat: ChatRequestView, res: ServerResponse): Promise<FinalReply> => {
    let usedDefault = false;
    // The default may itself fall through (delay without `then`, rejectJsonSchema);
    // the second fallback goes to the built-in reply so resolution always ends.
    const fallback = (): ScriptedReply => {
      if (usedDefault || defaultReply === undefined) return BUILTIN_REPLY;
      usedDefault = true;
      return typeof defaultReply === "function" ? defaultReply(chat) : defaultReply;
    };
    let reply: ScriptedReply = queue.shift() ?? fallback();
    for (;;) {
      if ("rejectJsonSchema" in reply) {
        if (chat.response_format?.type === "json_schema") return { status: 400, error: { ...JSON_SCHEMA_REJECTION } };
        reply = queue.shift() ?? fallback();
      } else if ("delayMs" in reply || "until" in reply) {
        if ("delayMs" in reply) await delay(reply.delayMs, res);
        else await Promise.race([reply.until.catch(() => undefined), new Promise((r) => res.once("close", r))]);
        // Client already gave up: don't consume further queued replies for it.
        if (res.destroyed) return { hang: true };
        reply = reply.then ?? fallback();
      } else {
        return reply;
      }
    }
  };

  const handleChat = async (record: RecordedRequest, res: ServerResponse, requestId: string): Promise<void> => {
    if (record.body === undefined || typeof record.body !== "object" || record.body === null) {
      sendJson(res, 400, errorEnvelope(400, { message: "Request body must be a JSON object" }));
      return;
    }
    const chat = toChatView(record);
    if (chat.body.stream === true) {
      sendJson(
        res,
        400,
        errorEnvelope(400, {
          message: "stream=true is not supported by the testkit server",
          param: "stream",
        }),
      );
      return;
    }
    const reply = await resolveReply(chat, res);
    if (res.destroyed) return;
    const headers = { "x-request-id": requestId };
    if ("hang" in reply) return; // Never answer; close() destroys the socket.
    if ("raw" in reply) {
      const body = reply.raw;
      res.writeHead(reply.status ?? 200, {
        "content-type": reply.contentType ?? "application/json",
        "content-length": Buffer.byteLength(body),
        ...headers,
      });
      res.end(body);
      return;
    }
    if ("status" in reply) {
      sendJson(res, reply.status, errorEnvelope(reply.status, reply.error), {
        ...headers,
        ...reply.headers,
      });
      return;
    }
    sendJson(res, 200, completionBody(reply, chat, `chatcmpl-${requestId.slice(4)}`), headers);
  };

  const models = opts.models ?? ["test-model"];
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const rawBody = await readBody(req);
    let body: unknown;
    try {
      body = rawBody ? JSON.parse(rawBody) : undefined;
    } catch {
      body = undefined;
    }
    const record: RecordedRequest = {
      method: req.method ?? "GET",
      path: req.url ?? "/",
      headers: req.headers,
      body,
      rawBody,
    };
    requests.push(record);
    counter++;
    const requestId = `req_testkit_${counter}`;

    if (opts.apiKey !== undefined && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      sendJson(res, 401, errorEnvelope(401), { "x-request-id": requestId });
      return;
    }
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method === "POST" && path === "/v1/chat/completions") return handleChat(record, res, requestId);
    if (req.method === "GET" && path === "/v1/models") {
      const data = models.map((id) => ({
        id,
        object: "model",
        created: 1_700_000_000,
        owned_by: "orbweaver-testkit",
      }));
      sendJson(res, 200, JSON.stringify({ object: "list", data }), {
        "x-request-id": requestId,
      });
      return;
    }
    const notFound = {
      message: `Unknown request URL: ${req.method} ${path}`,
      code: "unknown_url",
    };
    sendJson(res, 404, errorEnvelope(404, notFound), {
      "x-request-id": requestId,
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      sendJson(
        res,
        500,
        errorEnvelope(500, {
          message: err instanceof Error ? err.message : String(err),
        }),
      );
    });
  });
  const listening = await listenTracked(server, opts.host, opts.port);

  return {
    baseURL: `${listening.origin}/v1`,
    origin: listening.origin,
    port: listening.port,
    requests,
    enqueue: (...replies) => {
      queue.push(...replies);
    },
    setDefault: (reply) => {
      defaultReply = reply;
    },
    pending: () => queue.length,
    chatRequests: () => chatRequests(requests),
    lastChat: () => lastChatRequest(requests),
    reset: () => {
      queue.length = 0;
      requests.length = 0;
      defaultReply = undefined;
    },
    close: listening.close,
  };
}
