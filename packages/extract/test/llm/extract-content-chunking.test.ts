// Long input: split under the budget, one call per chunk, answers merged; never silently truncated.
import { describe, expect, it } from "vitest";
import { extractContent } from "../../src/llm/extract-content.ts";
import { createLogSpy, testLlm, userText, useOpenAIServer } from "./llm-test-helpers.ts";
import type { ChatRequestView } from "./llm-test-helpers.ts";

const server = useOpenAIServer();

const ITEMS = 40;
const itemName = (i: number): string => `Item-${String(i).padStart(2, "0")}`;
const longMarkdown = Array.from(
  { length: ITEMS },
  (_, i) =>
    `## ${itemName(i + 1)}\n\nThis sturdy product number ${i + 1} ships worldwide within two business days, ` +
    `comes with a warranty and is loved by hikers, campers and commuters alike.`,
).join("\n\n");
const page = { url: "https://shop.test/all", title: "All products", markdown: longMarkdown };
const BUDGET = 600;

const pageBlocks = (chat: ChatRequestView | undefined): string[] =>
  [...userText(chat).matchAll(/<page [^>]*>\n([\s\S]*?)\n<\/page>/g)].map((m) => m[1] ?? "");
const namesIn = (chat: ChatRequestView): string[] => [...new Set(userText(chat).match(/Item-\d\d/g) ?? [])];

describe("extractContent — chunking", () => {
  it("splits a long page into several requests under the budget, on boundaries, without losing text", async () => {
    const log = createLogSpy();
    server.setDefault((chat) => ({ content: { data: namesIn(chat).map((name) => ({ name })) } }));
    const schema = { type: "array", items: { type: "object", properties: { name: { type: "string" } } } };
    const outcome = await extractContent({
      llm: testLlm(server.baseURL),
      pages: [page],
      schema,
      inputBudgetTokens: BUDGET,
      log,
    });

    const chats = server.chatRequests();
    expect(chats.length).toBeGreaterThan(3);
    expect(outcome.calls).toBe(chats.length);
    for (const chat of chats) {
      expect(chat.promptText.length).toBeLessThanOrEqual(BUDGET * 4);
      expect(userText(chat)).toMatch(new RegExp(`part="\\d+/${chats.length}"`));
    }
    // Every word arrives exactly once, in order: nothing truncated, nothing cut mid-word.
    const sentWords = chats.flatMap(pageBlocks).join(" ").split(/\s+/);
    expect(sentWords).toEqual(longMarkdown.split(/\s+/));
    // Sections start with their heading.
    for (const chat of chats) expect(pageBlocks(chat)[0]).toMatch(/^## Item-\d\d/);

    expect(outcome.content).toEqual(Array.from({ length: ITEMS }, (_, i) => ({ name: itemName(i + 1) })));
    expect(log.infos().find((e) => e.msg.includes("chunks"))?.obj).toMatchObject({ chunks: chats.length });
  });

  it("merges arrays with deep-equal de-duplication", async () => {
    // Every chunk also reports Item-01 (keys in another order): it must appear once.
    server.setDefault((chat) => ({
      content: [{ price: 1, name: "Item-01" }, ...namesIn(chat).map((name) => ({ name, price: 1 }))],
    }));
    const outcome = await extractContent({
      llm: testLlm(server.baseURL),
      pages: [page],
      prompt: "List items",
      inputBudgetTokens: BUDGET,
      log: createLogSpy(),
    });
    const content = outcome.content as Array<{ name: string }>;
    expect(content.map((c) => c.name)).toEqual(Array.from({ length: ITEMS }, (_, i) => itemName(i + 1)));
  });

  it("merges objects field by field, preferring non-null values and uniting arrays", async () => {
    const schema = {
      type: "object",
      required: ["title", "price", "tags"],
      properties: {
        title: { type: "string" },
        price: { type: "number" },
        tags: { type: "array", items: { type: "string" } },
      },
    };
    let n = 0;
    server.setDefault(() => {
      n++;
      if (n === 1) return { content: { title: "Catalogue", price: null, tags: ["outdoor"] } };
      if (n === 2) return { content: { title: null, price: 5, tags: ["outdoor", "travel"] } };
      return { content: { title: "Other title", price: 7, tags: [] } };
    });
    const outcome = await extractContent({
      llm: testLlm(server.baseURL),
      pages: [page],
      schema,
      inputBudgetTokens: BUDGET,
      log: createLogSpy(),
    });
    expect(outcome.content).toEqual({ title: "Catalogue", price: 5, tags: ["outdoor", "travel"] });
  });

  it("joins text answers; repeated table headers are dropped", async () => {
    server.setDefault((chat) => ({
      content: `| Name |\n|---|\n${namesIn(chat)
        .map((name) => `| ${name} |`)
        .join("\n")}`,
    }));
    const outcome = await extractContent({
      llm: testLlm(server.baseURL),
      pages: [page],
      prompt: "Tabulate the items",
      output: "table",
      inputBudgetTokens: BUDGET,
      log: createLogSpy(),
    });
    const lines = (outcome.content as string).split("\n");
    expect(lines.slice(0, 2)).toEqual(["| Name |", "|---|"]);
    expect(lines.filter((l) => l === "| Name |")).toHaveLength(1);
    expect(lines.slice(2)).toEqual(Array.from({ length: ITEMS }, (_, i) => `| ${itemName(i + 1)} |`));
  });

  it("past maxChunks, the rest is not sent — loudly (warning and truncated flag)", async () => {
    const log = createLogSpy();
    server.setDefault({ content: { ok: true }, usage: { prompt_tokens: 100, completion_tokens: 5 } });
    const outcome = await extractContent({
      llm: testLlm(server.baseURL),
      pages: [page],
      prompt: "List items",
      inputBudgetTokens: BUDGET,
      maxChunks: 2,
      log,
    });
    expect(server.chatRequests()).toHaveLength(2);
    expect(outcome).toMatchObject({
      aiExtractionFailed: false,
      truncated: true,
      calls: 2,
      usage: { inputTokens: 200, outputTokens: 10 },
    });
    expect(log.warnings()[0]?.obj).toMatchObject({ maxChunks: 2 });
  });

  it("small pages share one request", async () => {
    const small = Array.from({ length: 5 }, (_, i) => ({
      url: `https://s.test/${i}`,
      title: `S${i}`,
      markdown: `Page ${i}`,
    }));
    await extractContent({
      llm: testLlm(server.baseURL),
      pages: small,
      prompt: "x",
      inputBudgetTokens: BUDGET,
      log: createLogSpy(),
    });
    expect(server.chatRequests()).toHaveLength(1);
    expect(pageBlocks(server.lastChat())).toEqual(small.map((p) => p.markdown));
  });
});
