// Guaranteed output shape: enforcement, the repair round, and the json_schema → json_object fallback.
import { describe, expect, it } from "vitest";
import { extractContent } from "../../src/llm/extract-content.ts";
import { makeStrictCompatible } from "../../src/schema/enforce-schema.ts";
import { createLogSpy, systemText, testLlm, userText, useOpenAIServer } from "./llm-test-helpers.ts";

const server = useOpenAIServer();

const page = { url: "https://shop.test/tb", title: "TB", markdown: "# Trailblazer\n\nA book. $39.99, available." };
const schema = {
  type: "object",
  required: ["title", "price", "available", "category", "author"],
  properties: {
    title: { type: "string" },
    price: { type: "number" },
    available: { type: "boolean" },
    category: { type: "string", enum: ["book", "toy"] },
    author: { type: "string" },
  },
};

describe("extractContent — schema enforcement", () => {
  it("coerces, prunes and null-fills in one call", async () => {
    server.enqueue({
      content: { title: "Trailblazer", price: "39.99", available: "true", category: "book", isbn: "123" },
    });
    const outcome = await extractContent({ llm: testLlm(server.baseURL), pages: [page], schema, log: createLogSpy() });
    expect(outcome).toMatchObject({
      content: { title: "Trailblazer", price: 39.99, available: true, category: "book", author: null },
      aiExtractionFailed: false,
      calls: 1,
    });
    expect(outcome.content).not.toHaveProperty("isbn");
  });

  it("an enum violation triggers one repair round carrying the errors; a good answer is accepted", async () => {
    const log = createLogSpy();
    server.enqueue(
      { content: { title: "Trailblazer", price: 39.99, available: true, category: "novel", author: null } },
      { content: { title: "Trailblazer", price: 39.99, available: true, category: "book", author: null } },
    );
    const outcome = await extractContent({ llm: testLlm(server.baseURL), pages: [page], schema, log });
    expect(outcome).toMatchObject({ aiExtractionFailed: false, calls: 2, content: { category: "book" } });

    const [, repair] = server.chatRequests();
    const user = userText(repair);
    expect(user).toContain('/category must be equal to one of the allowed values: "book", "toy", null');
    expect(user).toContain('<previous_answer>\n{"title":"Trailblazer","price":39.99');
    // Single chunk: the page is sent again so the model can look things up.
    expect(user).toContain("# Trailblazer");
    expect(repair?.response_format?.type).toBe("json_schema");
    expect(log.infos().some((e) => e.msg.includes("repair"))).toBe(true);
  });

  it("still invalid after the repair: aiExtractionFailed with the raw Markdown", async () => {
    const log = createLogSpy();
    const bad = { title: "T", price: 1, available: true, category: "novel", author: null };
    server.enqueue({ content: bad }, { content: bad });
    const outcome = await extractContent({ llm: testLlm(server.baseURL), pages: [page], schema, log });
    expect(outcome).toMatchObject({
      content: page.markdown,
      aiExtractionFailed: true,
      failureReason: "schema_mismatch",
      calls: 2,
    });
    expect(server.chatRequests()).toHaveLength(2);
    expect(log.warnings()[0]?.obj).toMatchObject({ failureReason: "schema_mismatch" });
  });

  it("json_schema refused: falls back to json_object with the schema in the prompt, then goes straight there", async () => {
    const llm = testLlm(server.baseURL);
    const good = { title: "T", price: 1, available: true, category: "toy", author: "A" };
    server.enqueue({ rejectJsonSchema: true }, { content: good }, { content: good });

    const first = await extractContent({ llm, pages: [page], schema, log: createLogSpy() });
    const second = await extractContent({ llm, pages: [page], schema, log: createLogSpy() });
    expect(first).toMatchObject({ content: good, aiExtractionFailed: false });
    expect(second).toMatchObject({ content: good, aiExtractionFailed: false, calls: 1 });

    const chats = server.chatRequests();
    expect(chats.map((c) => c.response_format?.type)).toEqual(["json_schema", "json_object", "json_object"]);
    for (const chat of chats.slice(1)) {
      expect(systemText(chat)).toContain(JSON.stringify(makeStrictCompatible(schema)));
    }
  });

  it("a required field the page lacks: the schema sent allows null for it, and null comes back", async () => {
    server.enqueue({
      content: { title: "Trailblazer", price: 39.99, available: true, category: "book", author: null },
    });
    const outcome = await extractContent({ llm: testLlm(server.baseURL), pages: [page], schema, log: createLogSpy() });
    expect(outcome).toMatchObject({
      aiExtractionFailed: false,
      calls: 1,
      content: { title: "Trailblazer", author: null },
    });
    const sent = server.lastChat()?.response_format?.json_schema;
    expect(sent?.strict).toBe(true);
    expect(sent?.schema).toMatchObject({
      required: ["title", "price", "available", "category", "author"],
      properties: { author: { type: ["string", "null"] }, title: { type: ["string", "null"] } },
    });
  });

  it("free-form maps and arrays without items: asked non-strict, the model's keys and items kept", async () => {
    const specSchema = {
      type: "object",
      required: ["title"],
      properties: {
        title: { type: "string" },
        specs: { type: "object", additionalProperties: { type: "string" } },
        badges: { type: "array" },
      },
    };
    const full = {
      title: "Trailblazer",
      specs: { Weight: "1.2 kg", Volume: "30 l" },
      badges: [{ label: "new" }, "eco"],
    };
    // A strict server can only answer what the strict schema allows: closed maps come back empty.
    server.setDefault((chat) => ({
      content: chat.response_format?.json_schema?.strict ? { title: "Trailblazer", specs: {}, badges: [] } : full,
    }));
    const outcome = await extractContent({
      llm: testLlm(server.baseURL),
      pages: [page],
      schema: specSchema,
      log: createLogSpy(),
    });
    expect(outcome).toMatchObject({ aiExtractionFailed: false, calls: 1, content: full });
    const sent = server.lastChat()?.response_format?.json_schema;
    expect(sent?.strict).toBe(false);
    expect(sent?.schema).toMatchObject({ properties: { specs: { additionalProperties: { type: "string" } } } });
  });

  it('coerces a price like "$1,299.00" in one call', async () => {
    server.enqueue({
      content: { title: "Trailblazer", price: "$1,299.00", available: true, category: "book", author: "A" },
    });
    const outcome = await extractContent({ llm: testLlm(server.baseURL), pages: [page], schema, log: createLogSpy() });
    expect(outcome).toMatchObject({ aiExtractionFailed: false, calls: 1, content: { price: 1299 } });
  });

  it("an optional field still invalid after the repair becomes null; the rest of the answer is kept", async () => {
    const log = createLogSpy();
    const dated = {
      type: "object",
      required: ["title"],
      properties: {
        title: { type: "string" },
        price: { type: "number" },
        released: { type: "string", format: "date" },
      },
    };
    const answer = { title: "Trailblazer", price: "$1,299.00", released: "next Tuesday" };
    server.enqueue({ content: answer }, { content: answer });
    const outcome = await extractContent({ llm: testLlm(server.baseURL), pages: [page], schema: dated, log });
    expect(outcome).toMatchObject({
      aiExtractionFailed: false,
      calls: 2,
      content: { title: "Trailblazer", price: 1299, released: null },
    });
    expect(userText(server.chatRequests()[1])).toContain('/released must match format "date"');
    expect(log.infos().some((e) => e.msg.includes("set to null"))).toBe(true);
    // The model still sees the format, as a hint.
    expect(server.lastChat()?.response_format?.json_schema?.schema).toMatchObject({
      properties: { released: { description: "format: date" } },
    });
  });

  it("array-root schemas come back as arrays", async () => {
    const list = { type: "array", items: { type: "object", required: ["n"], properties: { n: { type: "integer" } } } };
    server.enqueue({ content: { data: [{ n: "1" }, { n: 2, x: 0 }, {}] } });
    const outcome = await extractContent({
      llm: testLlm(server.baseURL),
      pages: [page],
      schema: list,
      log: createLogSpy(),
    });
    expect(outcome.content).toEqual([{ n: 1 }, { n: 2 }, { n: null }]);
  });
});
