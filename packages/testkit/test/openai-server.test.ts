import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startOpenAIServer, waitFor } from "../src/index.ts";
import type { OpenAIServer } from "../src/index.ts";

let server: OpenAIServer;
let client: OpenAI;
beforeAll(async () => {
  server = await startOpenAIServer();
  client = new OpenAI({
    baseURL: server.baseURL,
    apiKey: "test",
    maxRetries: 0,
  });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => server.reset());

const messages = [
  { role: "system" as const, content: "Extract the product." },
  { role: "user" as const, content: "Trailblazer backpack, $39.99" },
];
const jsonSchemaFormat = {
  type: "json_schema" as const,
  json_schema: {
    name: "product",
    strict: true,
    schema: { type: "object", properties: { name: { type: "string" } } },
  },
};
const chat = (extra: Partial<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming> = {}, opts?: OpenAI.RequestOptions) =>
  client.chat.completions.create({ model: "gpt-test", messages, ...extra }, opts);

describe("openai test server", () => {
  it("answers '{}' when nothing is scripted, with estimated usage", async () => {
    const res = await chat();
    expect(res.object).toBe("chat.completion");
    expect(res.model).toBe("gpt-test");
    expect(res.choices[0]?.message).toMatchObject({
      role: "assistant",
      content: "{}",
    });
    expect(res.choices[0]?.finish_reason).toBe("stop");
    expect(res.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(res.usage?.total_tokens).toBe((res.usage?.prompt_tokens ?? 0) + (res.usage?.completion_tokens ?? 0));
    expect(res._request_id).toMatch(/^req_testkit_/);
  });

  it("serves scripted replies FIFO, then the default", async () => {
    server.enqueue(
      { content: "first" },
      {
        content: { name: "Trailblazer", price: 39.99 },
        finishReason: "length",
      },
    );
    server.setDefault((req) => ({ content: `default for ${req.model}` }));
    expect((await chat()).choices[0]?.message.content).toBe("first");
    const second = await chat();
    expect(JSON.parse(second.choices[0]?.message.content ?? "")).toEqual({
      name: "Trailblazer",
      price: 39.99,
    });
    expect(second.choices[0]?.finish_reason).toBe("length");
    expect((await chat()).choices[0]?.message.content).toBe("default for gpt-test");
    expect(server.pending()).toBe(0);
  });

  it("returns scripted usage numbers", async () => {
    server.enqueue({
      content: "ok",
      usage: { prompt_tokens: 1234, completion_tokens: 56 },
    });
    const res = await chat();
    expect(res.usage).toMatchObject({
      prompt_tokens: 1234,
      completion_tokens: 56,
      total_tokens: 1290,
    });
  });

  it("records requests and exposes the last chat's response_format and messages", async () => {
    server.enqueue({ content: "{}" });
    await chat({ response_format: jsonSchemaFormat, temperature: 0 });
    const last = server.lastChat();
    expect(last?.response_format).toEqual(jsonSchemaFormat);
    expect(last?.messages).toEqual(messages);
    expect(last?.promptText).toContain("Trailblazer backpack");
    expect(last?.body.temperature).toBe(0);
    expect(server.requests[0]).toMatchObject({
      method: "POST",
      path: "/v1/chat/completions",
    });
    expect(server.requests[0]?.headers.authorization).toBe("Bearer test");
  });

  it("rejects json_schema with 400 and falls through for other formats", async () => {
    server.enqueue({ rejectJsonSchema: true }, { content: { ok: true } });
    const err = await chat({ response_format: jsonSchemaFormat }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("response_format");
    const fallback = await chat({ response_format: { type: "json_object" } });
    expect(fallback.choices[0]?.message.content).toBe('{"ok":true}');

    server.enqueue({ rejectJsonSchema: true }, { content: "passed through" });
    expect((await chat()).choices[0]?.message.content).toBe("passed through");
  });

  it("maps error statuses to the client's error classes", async () => {
    server.enqueue(
      { status: 500 },
      {
        status: 429,
        error: { message: "slow down" },
        headers: { "retry-after": "7" },
      },
      { status: 401 },
    );
    await expect(chat()).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    const rate = (await chat().catch((e: unknown) => e)) as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rate).toBeInstanceOf(OpenAI.RateLimitError);
    expect(rate.message).toContain("slow down");
    expect(rate.code).toBe("rate_limit_exceeded");
    expect(rate.headers.get("retry-after")).toBe("7");
    await expect(chat()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("delays replies; a client timeout raises APIConnectionTimeoutError", async () => {
    server.enqueue({ delayMs: 150, then: { content: "late" } }, { delayMs: 2000 });
    const start = Date.now();
    expect((await chat()).choices[0]?.message.content).toBe("late");
    expect(Date.now() - start).toBeGreaterThanOrEqual(140);
    await expect(chat({}, { timeout: 200 })).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
  });

  it("holds a reply until its promise settles", async () => {
    let release!: () => void;
    server.enqueue({ until: new Promise<void>((r) => (release = r)), then: { content: "released" } });
    let answered = false;
    const reply = chat().then((r) => ((answered = true), r));
    await waitFor(() => server.requests.length === 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    release();
    expect((await reply).choices[0]?.message.content).toBe("released");
  });

  it("hangs until the client gives up", async () => {
    server.enqueue({ hang: true });
    await expect(chat({}, { timeout: 200 })).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
  });

  it("sends raw bodies verbatim", async () => {
    server.enqueue({ raw: "this is not json" }, { raw: "<html>gateway</html>", status: 502, contentType: "text/html" });
    await expect(chat()).rejects.toThrow();
    await expect(chat()).rejects.toBeInstanceOf(OpenAI.InternalServerError);
  });

  it("lists models and 404s unknown routes", async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(["test-model"]);
    const res = await fetch(`${server.baseURL}/embeddings`, {
      method: "POST",
      body: "{}",
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({
      error: { type: "invalid_request_error", code: "unknown_url" },
    });
  });

  it("enforces an api key when configured", async () => {
    const secured = await startOpenAIServer({ apiKey: "right" });
    try {
      const wrong = new OpenAI({
        baseURL: secured.baseURL,
        apiKey: "wrong",
        maxRetries: 0,
      });
      await expect(wrong.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      const right = new OpenAI({
        baseURL: secured.baseURL,
        apiKey: "right",
        maxRetries: 0,
      });
      expect((await right.models.list()).data).toHaveLength(1);
    } finally {
      await secured.close();
    }
  });

  it("close() terminates hung requests promptly", async () => {
    const own = await startOpenAIServer();
    own.setDefault({ hang: true });
    const c = new OpenAI({
      baseURL: own.baseURL,
      apiKey: "test",
      maxRetries: 0,
    });
    const pending = c.chat.completions.create({ model: "m", messages }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    const start = Date.now();
    await own.close();
    expect(Date.now() - start).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
  });
});
