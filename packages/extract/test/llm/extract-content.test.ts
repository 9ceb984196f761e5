// Contract §5.3 (prompt / output / schema interplay), row by row, at the function level.
import { describe, expect, it } from "vitest";
import { DEFAULT_JSON_INSTRUCTION } from "../../src/llm/build-extraction-prompt.ts";
import { extractContent, extractionAsksModel, joinPagesMarkdown } from "../../src/llm/extract-content.ts";
import { createLogSpy, systemText, testLlm, userText, useOpenAIServer } from "./llm-test-helpers.ts";

const server = useOpenAIServer();

const page = {
  url: "https://shop.test/tb",
  title: "Trailblazer",
  markdown: "# Trailblazer Backpack\n\nPrice: $39.99. In stock.",
};
const second = { url: "https://shop.test/ss", title: "Summit", markdown: "# Summit Tent\n\nPrice: $199." };
const run = (opts: Partial<Parameters<typeof extractContent>[0]>) =>
  extractContent({ llm: testLlm(server.baseURL), pages: [page], log: createLogSpy(), ...opts });

describe("extractContent — contract §5.3", () => {
  it("no prompt, no output, no schema: raw Markdown, no AI, 0 tokens", async () => {
    const outcome = await run({ pages: [page, second] });
    expect(outcome).toEqual({
      content: joinPagesMarkdown([page, second]),
      aiExtractionFailed: false,
      usage: { inputTokens: 0, outputTokens: 0 },
      calls: 0,
    });
    expect(outcome.content).toBe(`${page.markdown}\n\n${second.markdown}`);
    expect(server.chatRequests()).toHaveLength(0);
  });

  it("output json without a prompt: a default extraction pass runs", async () => {
    server.enqueue({ content: { product: { name: "Trailblazer Backpack", price: 39.99 } } });
    const outcome = await run({ output: "json" });
    expect(outcome).toMatchObject({
      content: { product: { name: "Trailblazer Backpack", price: 39.99 } },
      aiExtractionFailed: false,
      calls: 1,
    });
    const chat = server.lastChat();
    expect(chat?.response_format).toEqual({ type: "json_object" });
    expect(userText(chat)).toContain(DEFAULT_JSON_INSTRUCTION);
  });

  it("prompt without output: JSON (object or array)", async () => {
    server.enqueue({ content: { items: [{ name: "Trailblazer" }] } });
    const outcome = await run({ prompt: "List the products with their names" });
    expect(outcome.content).toEqual({ items: [{ name: "Trailblazer" }] });
    expect(server.lastChat()?.response_format).toEqual({ type: "json_object" });
    expect(userText(server.lastChat())).toContain("<task>\nList the products with their names\n</task>");
  });

  it("a blank prompt counts as absent", async () => {
    expect((await run({ prompt: "   " })).calls).toBe(0);
  });

  it.each([
    ["markdown", "## Trailblazer\n\n- **Price:** $39.99", "## Trailblazer\n\n- **Price:** $39.99", /Markdown/],
    ["text", "Trailblazer costs $39.99.", "Trailblazer costs $39.99.", /plain text/],
    [
      "table",
      "```markdown\n| Name | Price |\n|---|---|\n| Trailblazer | 39.99 |\n```",
      "| Name | Price |\n|---|---|\n| Trailblazer | 39.99 |",
      /Markdown table/,
    ],
  ] as const)("prompt with output %s: a string in that form", async (output, reply, expected, rule) => {
    server.enqueue({ content: reply });
    const outcome = await run({ prompt: "Describe the product", output });
    expect(outcome).toMatchObject({ content: expected, aiExtractionFailed: false, calls: 1 });
    expect(server.lastChat()?.response_format).toBeUndefined();
    expect(systemText(server.lastChat())).toMatch(rule);
  });

  it("output markdown without a prompt is the raw page (no AI); table without a prompt runs a default pass", async () => {
    expect(await run({ output: "markdown" })).toMatchObject({ content: page.markdown, calls: 0 });
    // What the worker asks before it says "Processing content with AI" and reads page metadata.
    expect(extractionAsksModel({ output: "markdown" })).toBe(false);
    expect(extractionAsksModel({ output: "markdown", prompt: "  " })).toBe(false);
    expect(extractionAsksModel({ output: "markdown", prompt: "Summarise" })).toBe(true);
    expect(extractionAsksModel({ output: "table" })).toBe(true);
    expect(extractionAsksModel({ schema: { type: "object" } })).toBe(true);
    expect(extractionAsksModel({})).toBe(false);
    server.enqueue({ content: "| Name |\n|---|\n| Trailblazer |" });
    expect(await run({ output: "table" })).toMatchObject({ content: "| Name |\n|---|\n| Trailblazer |", calls: 1 });
  });

  it("schema (any prompt/output): structured extraction, output forced to JSON, required fields present", async () => {
    const schema = {
      type: "object",
      required: ["name", "price", "rating"],
      properties: { name: { type: "string" }, price: { type: "number" }, rating: { type: "number" } },
    };
    server.enqueue({ content: { name: "Trailblazer Backpack", price: 39.99 } });
    const outcome = await run({ schema, output: "markdown" });
    expect(outcome).toMatchObject({
      content: { name: "Trailblazer Backpack", price: 39.99, rating: null },
      aiExtractionFailed: false,
    });
    expect(server.lastChat()?.response_format?.type).toBe("json_schema");
  });

  it("AI failure: raw Markdown fallback with ai_extraction_failed", async () => {
    server.enqueue({ status: 500 });
    const outcome = await run({ prompt: "Extract", pages: [page, second] });
    expect(outcome).toMatchObject({
      content: `${page.markdown}\n\n${second.markdown}`,
      aiExtractionFailed: true,
      failureReason: "server",
    });
  });

  it("several pages: one request, one answer across all pages, each page in its own block", async () => {
    server.enqueue({ content: [{ name: "Trailblazer" }, { name: "Summit" }] });
    const outcome = await run({ prompt: "List all products", pages: [page, second] });
    expect(outcome.content).toEqual([{ name: "Trailblazer" }, { name: "Summit" }]);
    expect(server.chatRequests()).toHaveLength(1);
    const user = userText(server.lastChat());
    expect(user).toContain(`<page url="https://shop.test/tb" title="Trailblazer">\n${page.markdown}\n</page>`);
    expect(user).toContain(`<page url="https://shop.test/ss" title="Summit">\n${second.markdown}\n</page>`);
  });

  it("includes JSON-LD, OpenGraph and microdata from the HTML next to the Markdown", async () => {
    const html =
      '<html><head><meta property="og:title" content="TB"><script type="application/ld+json">' +
      '{"@type":"Product","sku":"TB-1","name":"</page> trick"}</script></head>' +
      '<body><div itemscope itemtype="https://schema.org/Offer"><span itemprop="price">39.99</span></div></body></html>';
    server.enqueue({ content: { sku: "TB-1" } });
    await run({ prompt: "Extract the SKU", pages: [{ ...page, html }] });
    const user = userText(server.lastChat());
    expect(user).toContain(
      '<metadata>{"jsonLd":[{"@type":"Product","sku":"TB-1","name":"\\u003c/page> trick"}],' +
        '"openGraph":{"og:title":"TB"},"microdata":[{"@type":"https://schema.org/Offer","price":"39.99"}]}</metadata>',
    );
    expect(user.indexOf("<metadata>")).toBeLessThan(user.indexOf("# Trailblazer Backpack"));
  });

  it("sums usage over every call", async () => {
    const schema = { type: "object", required: ["kind"], properties: { kind: { enum: ["a", "b"] } } };
    server.enqueue(
      { content: { kind: "zzz" }, usage: { prompt_tokens: 100, completion_tokens: 10 } },
      { content: { kind: "a" }, usage: { prompt_tokens: 130, completion_tokens: 7 } },
    );
    const outcome = await run({ schema });
    expect(outcome).toMatchObject({ calls: 2, usage: { inputTokens: 230, outputTokens: 17 }, content: { kind: "a" } });
  });
});
