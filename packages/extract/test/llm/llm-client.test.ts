import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { createLlm, OPENAI_BASE_URL } from "../../src/llm/llm-client.ts";
import { classifyLlmError, LlmInvalidJsonError } from "../../src/llm/llm-errors.ts";
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
    server.enqueue({ content: { name: "A" } }, { status: 400 }, { content: { name: "B" } }, { content: { name: "C" } });
    await llm.completeJson({ ...ask, schema });
    await llm.completeJson({ ...ask, schema });
    await llm.completeJson({ ...ask, schema });
    const types = server.chatRequests().map((c) => c.response_format?.type);
    expect(types).toEqual(["json_schema", "json_schema", "json_object", "json_schema"]);
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
