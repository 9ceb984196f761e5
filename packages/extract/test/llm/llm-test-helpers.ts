// Shared helpers for the LLM tests. The testkit is imported by path because
// packages/extract does not (yet) list @orbweaver/testkit as a devDependency.
import { createServer } from "node:net";
import { startOpenAIServer, type OpenAIServer } from "@orbweaver/testkit";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { createLlm } from "../../src/llm/llm-client.ts";
import type { CreateLlmOptions } from "../../src/llm/llm-client.ts";
import type { Llm, LlmLog } from "../../src/llm/llm-types.ts";

export { startOpenAIServer } from "@orbweaver/testkit";
export type { ChatRequestView, OpenAIServer } from "@orbweaver/testkit";

/** One scripted OpenAI server for the calling test file: started before all, reset before each test, closed after all. */
export function useOpenAIServer(): OpenAIServer {
  let current: OpenAIServer | undefined;
  beforeAll(async () => {
    current = await startOpenAIServer();
  });
  afterAll(async () => {
    await current?.close();
  });
  beforeEach(() => current?.reset());
  // Test bodies run after beforeAll, so every use below reaches the started server.
  return new Proxy({} as OpenAIServer, {
    get(_, prop) {
      if (!current) throw new Error("useOpenAIServer: the server is used before beforeAll started it");
      const value: unknown = Reflect.get(current, prop);
      return typeof value === "function" ? value.bind(current) : value;
    },
  });
}

export interface LogEntry {
  level: "info" | "warn";
  obj: Record<string, unknown>;
  msg: string;
}

export interface LogSpy extends LlmLog {
  entries: LogEntry[];
  warnings(): LogEntry[];
  infos(): LogEntry[];
}

export function createLogSpy(): LogSpy {
  const entries: LogEntry[] = [];
  const push = (level: LogEntry["level"]) => (obj: object, msg: string) => {
    entries.push({ level, obj: obj as Record<string, unknown>, msg });
  };
  return {
    entries,
    info: push("info"),
    warn: push("warn"),
    warnings: () => entries.filter((e) => e.level === "warn"),
    infos: () => entries.filter((e) => e.level === "info"),
  };
}

/** An Llm against the test server; no client retries so each scripted reply maps to one request. */
export function testLlm(baseUrl: string, extra: Partial<CreateLlmOptions> = {}): Llm {
  const llm = createLlm({ baseUrl, apiKey: "test", model: "test-model", timeoutMs: 5000, maxRetries: 0, ...extra });
  if (!llm) throw new Error("createLlm returned null");
  return llm;
}

/** A base URL nothing listens on: bind port 0, note the port, close. Connections are refused. */
export async function closedPortBaseUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return `http://127.0.0.1:${address.port}/v1`;
}

/** The user message of a recorded chat request. */
export function userText(req: { messages: Array<{ role: string; content?: unknown }> } | undefined): string {
  const msg = req?.messages.find((m) => m.role === "user");
  return typeof msg?.content === "string" ? msg.content : "";
}

/** The system message of a recorded chat request. */
export function systemText(req: { messages: Array<{ role: string; content?: unknown }> } | undefined): string {
  const msg = req?.messages.find((m) => m.role === "system");
  return typeof msg?.content === "string" ? msg.content : "";
}
