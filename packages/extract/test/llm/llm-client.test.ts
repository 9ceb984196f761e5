import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { createLlm, OPENAI_BASE_URL } from "../../src/llm/llm-client.ts";
import {
  classifyLlmError,
  LlmDeadlineError,
  LlmInvalidJsonError,
  LlmTruncatedError,
} from "../../src/llm/llm-errors.ts";
import { makeStrictCompatible } from "../../src/schema/enforce-schema.ts";
import { closedPortBaseUrl, createLogSpy, systemText, testLlm, useOpenAIServer } from "./llm-test-helpers.ts";
import type { OpenAIServer } from "./llm-test-helpers.ts";

const server = useOpenAIServer();

const schema = {
  type: "object",
  required: ["name"],
  properties: { name: { type: "string" }, price: { type: "number", minimum: 0 } },
};
const ask = { system: "Extract the product as JSON.", user: "Trailblazer, $39.99" };

describe("createLlm", () => {
  it("returns null without a base URL and API key; defaults the base URL to OpenAI's", () => {
    expect(createLlm({ model: "m", timeoutMs: 1000 })).toBeNull();
    expect(createLlm({ model: "m", timeoutMs: 1000, apiKey: "sk-test" })?.baseUrl).toBe(OPENAI_BASE_URL);
    expect(createLlm({ model: "m", timeoutMs: 1000, baseUrl: server.baseURL })?.baseUrl).toBe(server.baseURL);
  });

  it("works against a keyless local server", async () => {
    const llm = createLlm({ baseUrl: server.baseURL, model: "local", timeoutMs: 5000, maxRetries: 0 });
    server.enqueue({ content: "hello" });
    expect((await llm?.completeText(ask))?.text).toBe("hello");
    expect(server.lastChat()?.model).toBe("local");
  });
});

describe("Llm.completeJson", () => {
  it("uses strict structured outputs when a schema is given and reports usage", async () => {
    server.enqueue({
      content: { name: "Trailblazer", price: 39.99 },
      usage: { prompt_tokens: 120, completion_tokens: 9 },
    });
    const result = await testLlm(server.baseURL).completeJson({ ...ask, schema, schemaName: "product info!" });
    expect(result).toEqual({
      value: { name: "Trailblazer", price: 39.99 },
      usage: { inputTokens: 120, outputTokens: 9 },
    });
    expect(server.lastChat()?.response_format).toEqual({
      type: "json_schema",
      json_schema: { name: "product_info_", strict: true, schema: makeStrictCompatible(schema) },
    });
  });

  it("uses json_object without a schema", async () => {
    server.enqueue({ content: '{"ok":true}' });
    expect((await testLlm(server.baseURL).completeJson(ask)).value).toEqual({ ok: true });
    expect(server.lastChat()?.response_format).toEqual({ type: "json_object" });
  });

  it("wraps non-object roots for structured outputs and unwraps the answer", async () => {
    const list = { type: "array", items: { type: "object", properties: { t: { type: "string" } } } };
    server.enqueue({ content: { data: [{ t: "a" }] } });
    expect((await testLlm(server.baseURL).completeJson({ ...ask, schema: list })).value).toEqual([{ t: "a" }]);
    const sent = server.lastChat()?.response_format?.json_schema?.schema;
    expect(sent).toMatchObject({ type: "object", required: ["data"], properties: { data: { type: "array" } } });
  });

  it("falls back to json_object with the schema in the prompt and remembers the refusal", async () => {
    const log = createLogSpy();
    const llm = testLlm(server.baseURL, { log });
    server.enqueue({ rejectJsonSchema: true }, { content: { name: "A" } }, { content: { name: "B" } });

    expect((await llm.completeJson({ ...ask, schema })).value).toEqual({ name: "A" });
    expect((await llm.completeJson({ ...ask, schema })).value).toEqual({ name: "B" });

    const chats = server.chatRequests();
    expect(chats.map((c) => c.response_format?.type)).toEqual(["json_schema", "json_object", "json_object"]);
    expect(systemText(chats[1])).toContain(JSON.stringify(makeStrictCompatible(schema)));
    expect(systemText(chats[2])).toContain("<json_schema>");
    expect(log.warnings()).toHaveLength(1);
    expect(log.warnings()[0]?.obj).toMatchObject({ remembered: true, status: 400 });
  });

  it("after structured outputs worked, a rejected schema falls back for that call only", async () => {
    const llm = testLlm(server.baseURL);
    const refused = {
      status: 400,
      error: {
        message: "Invalid schema for response_format 'extraction': unsupported keyword",
        param: "response_format",
      },
    };
    server.enqueue({ content: { name: "A" } }, refused, { content: { name: "B" } }, { content: { name: "C" } });
    await llm.completeJson({ ...ask, schema });
    await llm.completeJson({ ...ask, schema });
    await llm.completeJson({ ...ask, schema });
    const types = server.chatRequests().map((c) => c.response_format?.type);
    expect(types).toEqual(["json_schema", "json_schema", "json_object", "json_schema"]);
  });

  it("an unrelated 400 (context length, content filter) is thrown and leaves structured outputs on", async () => {
    const unrelated = [
      {
        status: 400,
        error: {
          message:
            "This model's maximum context length is 8192 tokens. However, your messages resulted in 9001 tokens.",
          code: "context_length_exceeded",
          param: "messages",
        },
      },
      {
        status: 400,
        error: {
          message: "The response was filtered due to the prompt triggering the content management policy.",
          code: "content_filter",
          param: "prompt",
        },
      },
    ];
    for (const reply of unrelated) {
      server.reset();
      const log = createLogSpy();
      const llm = testLlm(server.baseURL, { log });
      server.enqueue(reply, { content: { name: "A" } });
      await expect(llm.completeJson({ ...ask, schema })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
      expect((await llm.completeJson({ ...ask, schema })).value).toEqual({ name: "A" });
      expect(server.chatRequests().map((c) => c.response_format?.type)).toEqual(["json_schema", "json_schema"]);
      expect(log.warnings()).toHaveLength(0);
    }
  });

  it("remembers a refusal that names response_format or json_schema, in the param or the message", async () => {
    const refusals = [
      { status: 400, error: { message: "Invalid value", param: "response_format" } },
      { status: 422, error: { message: "json_schema is not supported by this backend" } },
    ];
    for (const reply of refusals) {
      server.reset();
      const llm = testLlm(server.baseURL);
      server.enqueue(reply, { content: { name: "A" } }, { content: { name: "B" } });
      await llm.completeJson({ ...ask, schema });
      expect((await llm.completeJson({ ...ask, schema })).value).toEqual({ name: "B" });
      const types = server.chatRequests().map((c) => c.response_format?.type);
      expect(types, JSON.stringify(reply)).toEqual(["json_schema", "json_object", "json_object"]);
    }
  });

  it("remembers a bare 400 to json_schema once json_object was accepted, so later calls send json_object only", async () => {
    const bare = [
      { raw: "", status: 400 },
      { raw: "Bad Request", status: 400, contentType: "text/plain" },
      { raw: '{"detail":"Bad Request"}', status: 400 },
    ];
    for (const reply of bare) {
      server.reset();
      const log = createLogSpy();
      const llm = testLlm(server.baseURL, { log });
      // A server without structured outputs that says so with a bare 400, every time.
      server.setDefault((chat) => (chat.response_format?.type === "json_schema" ? reply : { content: { name: "A" } }));
      for (let call = 0; call < 3; call++) {
        expect((await llm.completeJson({ ...ask, schema })).value).toEqual({ name: "A" });
      }
      // One failed json_schema call in all, not one per call (6 requests).
      expect(server.requests, reply.raw).toHaveLength(4);
      const types = server.chatRequests().map((c) => c.response_format?.type);
      expect(types, reply.raw).toEqual(["json_schema", "json_object", "json_object", "json_object"]);
      expect(systemText(server.chatRequests()[3])).toContain("<json_schema>");
      expect(log.warnings().map((w) => w.obj)).toMatchObject([{ remembered: false, status: 400 }]);
      expect(log.infos().map((i) => i.obj)).toMatchObject([{ remembered: true }]);
    }
  });

  it("does not remember a bare 400 to json_schema when the json_object call fails too, nor after json_schema worked", async () => {
    const bare = { raw: "", status: 400 };
    const llm = testLlm(server.baseURL);
    server.enqueue(bare, bare, { content: { name: "A" } }, { content: { name: "B" } });
    await expect(llm.completeJson({ ...ask, schema })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    expect((await llm.completeJson({ ...ask, schema })).value).toEqual({ name: "A" });
    expect((await llm.completeJson({ ...ask, schema })).value).toEqual({ name: "B" });
    expect(server.requests).toHaveLength(4);
    let types = server.chatRequests().map((c) => c.response_format?.type);
    expect(types).toEqual(["json_schema", "json_object", "json_schema", "json_schema"]);

    // Structured outputs worked: a later bare 400 is about that request, fallback for that call only.
    server.reset();
    server.enqueue(bare, { content: { name: "C" } }, { content: { name: "D" } });
    expect((await llm.completeJson({ ...ask, schema })).value).toEqual({ name: "C" });
    expect((await llm.completeJson({ ...ask, schema })).value).toEqual({ name: "D" });
    types = server.chatRequests().map((c) => c.response_format?.type);
    expect(types).toEqual(["json_schema", "json_object", "json_schema"]);
  });

  it("sends a schema with free-form maps non-strict, the map as written", async () => {
    const withMap = {
      type: "object",
      properties: { name: { type: "string" }, specs: { type: "object", additionalProperties: { type: "string" } } },
    };
    server.enqueue({ content: { name: "A", specs: { weight: "1 kg" } } });
    expect((await testLlm(server.baseURL).completeJson({ ...ask, schema: withMap })).value).toEqual({
      name: "A",
      specs: { weight: "1 kg" },
    });
    const format = server.lastChat()?.response_format;
    expect(format?.json_schema?.strict).toBe(false);
    expect(format?.json_schema?.schema).toMatchObject({
      properties: { specs: { additionalProperties: { type: "string" } } },
    });
  });

  it("an answer cut at the token limit is an error, in text and in JSON (unless the JSON is complete)", async () => {
    const llm = testLlm(server.baseURL);
    server.enqueue(
      {
        content: "## Products\n\n1. Trailblazer, $39",
        finishReason: "length",
        usage: { prompt_tokens: 9, completion_tokens: 4 },
      },
      { content: '[{"name":"Trailblazer"},{"name":"Comp', finishReason: "length" },
      { content: '{"name":"Trailblazer"}\n\n\n   ', finishReason: "length" },
    );
    const text = await llm.completeText(ask).catch((e: unknown) => e);
    expect(text).toBeInstanceOf(LlmTruncatedError);
    expect(classifyLlmError(text)).toBe("truncated");
    expect((text as LlmTruncatedError).usage).toEqual({ inputTokens: 9, outputTokens: 4 });
    const json = await llm.completeJson(ask).catch((e: unknown) => e);
    expect(json).toBeInstanceOf(LlmTruncatedError);
    expect((await llm.completeJson(ask)).value).toEqual({ name: "Trailblazer" });
  });

  it("honours structuredOutput json_schema (no fallback) and json_object (never tries)", async () => {
    server.enqueue({ rejectJsonSchema: true });
    const strictOnly = testLlm(server.baseURL, { structuredOutput: "json_schema" });
    await expect(strictOnly.completeJson({ ...ask, schema })).rejects.toBeInstanceOf(OpenAI.BadRequestError);

    server.reset();
    server.enqueue({ content: { name: "A" } });
    await testLlm(server.baseURL, { structuredOutput: "json_object" }).completeJson({ ...ask, schema });
    expect(server.chatRequests().map((c) => c.response_format?.type)).toEqual(["json_object"]);
  });

  it("accepts fenced JSON and throws LlmInvalidJsonError (with usage) for prose", async () => {
    const llm = testLlm(server.baseURL);
    server.enqueue(
      { content: '```json\n{"a":1}\n```' },
      { content: "Sure! Here is the data you wanted.", usage: { prompt_tokens: 50, completion_tokens: 8 } },
    );
    expect((await llm.completeJson(ask)).value).toEqual({ a: 1 });
    const err = await llm.completeJson(ask).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmInvalidJsonError);
    expect((err as LlmInvalidJsonError).usage).toEqual({ inputTokens: 50, outputTokens: 8 });
    expect(classifyLlmError(err)).toBe("invalid_json");
  });

  it("adds the word JSON when the messages lack it (json_object mode requires it)", async () => {
    server.enqueue({ content: "{}" });
    await testLlm(server.baseURL).completeJson({ system: "Extract.", user: "page" });
    expect(systemText(server.lastChat())).toMatch(/JSON/);
  });
});

describe("Llm deadline and retries", () => {
  it("a stalled call ends at the request's deadline, and no call starts after it", async () => {
    const llm = testLlm(server.baseURL, { timeoutMs: 60_000, maxRetries: 1 });
    server.enqueue({ hang: true });
    const stalled = await llm.completeText({ ...ask, deadline: Date.now() + 300 }).catch((e: unknown) => e);
    expect(stalled).toBeInstanceOf(LlmDeadlineError);
    expect(classifyLlmError(stalled)).toBe("deadline");
    const late = await llm.completeJson({ ...ask, deadline: Date.now() - 1 }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(LlmDeadlineError);
    expect(server.chatRequests()).toHaveLength(1);
  });

  it("a 429 whose Retry-After is past the deadline (or longer than a call may take) is not waited for", async () => {
    const llm = testLlm(server.baseURL, { timeoutMs: 5000, maxRetries: 1 });
    server.enqueue(
      { status: 429, headers: { "retry-after": "30" } },
      { status: 429, headers: { "retry-after": "30" } },
    );
    await expect(llm.completeText({ ...ask, deadline: Date.now() + 10_000 })).rejects.toBeInstanceOf(
      OpenAI.RateLimitError,
    );
    await expect(llm.completeText(ask)).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    expect(server.chatRequests()).toHaveLength(2);
  });

  it("retries a 5xx or a short Retry-After within maxRetries", async () => {
    const llm = testLlm(server.baseURL, { maxRetries: 1 });
    server.enqueue(
      { status: 503 },
      { content: "one" },
      { status: 429, headers: { "retry-after-ms": "10" } },
      { content: "two" },
      { status: 500 },
      { status: 500 },
    );
    expect((await llm.completeText(ask)).text).toBe("one");
    expect((await llm.completeText({ ...ask, deadline: Date.now() + 10_000 })).text).toBe("two");
    await expect(llm.completeText(ask)).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    expect(server.chatRequests()).toHaveLength(6);
  });
});

describe("classifyLlmError", () => {
  const failureOf = async (baseUrl: string, timeoutMs = 5000): Promise<unknown> =>
    testLlm(baseUrl, { timeoutMs })
      .completeText(ask)
      .then(
        () => undefined,
        (e: unknown) => e,
      );

  it("classifies by the openai client's error classes", async () => {
    const cases: Array<[Parameters<OpenAIServer["enqueue"]>[0], string]> = [
      [{ status: 500 }, "server"],
      [{ status: 503 }, "server"],
      [{ status: 429 }, "rate_limit"],
      [{ status: 401 }, "auth"],
      [{ status: 403 }, "auth"],
      [{ status: 400 }, "bad_request"],
      [{ status: 404 }, "bad_request"],
      [{ raw: "definitely not json" }, "invalid_json"],
    ];
    for (const [reply, expected] of cases) {
      server.enqueue(reply);
      expect(classifyLlmError(await failureOf(server.baseURL)), JSON.stringify(reply)).toBe(expected);
    }
  });

  it("classifies timeouts and refused connections", async () => {
    server.enqueue({ hang: true });
    const timeout = await failureOf(server.baseURL, 200);
    expect(timeout).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(classifyLlmError(timeout)).toBe("timeout");
    expect(classifyLlmError(await failureOf(await closedPortBaseUrl()))).toBe("connection");
  });

  it("falls back to unknown", () => {
    expect(classifyLlmError(new Error("boom"))).toBe("unknown");
    expect(classifyLlmError("string")).toBe("unknown");
  });
});
