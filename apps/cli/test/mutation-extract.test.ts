import { PRODUCTS, REPORT_PDF_TEXT, type FixtureSite, type OpenAIServer } from "@orbweaver/testkit";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { scrapeAndWait, type PollBody } from "./helpers/http.ts";
import { startModelStack, useStarted, type TestStack } from "./helpers/stack.ts";

/*
 * Gaps found by a mutation audit of content and AI extraction (packages/extract, the worker's
 * result building and content judgement). Each test asserts what a caller sees through the real
 * gateway and worker, with the scripted OpenAI-compatible server standing in for the model.
 */

let site: FixtureSite;
let model: OpenAIServer;
let stack: TestStack;
let key: string;

// A small input budget, so a long page is extracted in several chunks (each call one part).
useStarted(
  () =>
    startModelStack({
      LLM_MODEL: "test-model",
      LLM_TIMEOUT_MS: "5000",
      LLM_INPUT_BUDGET_TOKENS: "3000",
      LLM_MAX_CHUNKS: "50",
    }),
  (started) => ({ site, model, stack } = started),
);
beforeAll(async () => {
  ({ key } = await stack.createKey(10_000));
});
beforeEach(() => {
  model.reset();
  model.setDefault(undefined);
});

async function scrape(body: Record<string, unknown>): Promise<PollBody> {
  const final = await scrapeAndWait(stack.api, key, body, 90_000);
  expect(final.status, JSON.stringify(final)).toBe("completed");
  return final;
}

const product = (n = 1) => ({ url: site.url(`/product/${n}`) });
const documentUrl = (type: string, body: string, status = 200) =>
  site.url(`/document?${new URLSearchParams({ type, body, status: String(status) }).toString()}`);

const productSchema = {
  type: "object",
  properties: { name: { type: "string" }, price: { type: "number" } },
  required: ["name", "price"],
};

describe("structured extraction", () => {
  it("sends the caller's prompt to the model together with a schema", async () => {
    model.enqueue({ content: { name: "Trailblazer", price: 39.99 } });
    const prompt = "Give the product name exactly as printed on the label, and its price in euros";
    const final = await scrape({ urls: [product()], prompt, schema: productSchema });
    expect(final.result!.content).toEqual({ name: "Trailblazer", price: 39.99 });
    expect(model.lastChat()!.promptText).toContain(prompt);
  });

  it("conforms each chunk's answer before merging: an out-of-enum value in one part does not hide a valid one in the next", async () => {
    const schema = {
      type: "object",
      properties: { title: { type: "string" }, category: { type: "string", enum: ["tents", "boots"] } },
      required: ["title"],
    };
    // The first part's answer has a category outside the enum (not found); the later parts find it.
    model.enqueue({ content: { title: "The very long report", category: "gadgets" } });
    model.setDefault({ content: { title: null, category: "tents" } });
    const final = await scrape({ urls: [{ url: site.url("/huge?kb=60") }], prompt: "Title and category", schema });
    expect(model.chatRequests().length).toBeGreaterThan(1);
    expect(final.result!.ai_extraction_failed).toBe(false);
    expect(final.result!.content).toEqual({ title: "The very long report", category: "tents" });
  });

  it("keeps null items of an array whose items are a nullable union (anyOf [X, null], as Zod writes it)", async () => {
    const schema = {
      type: "object",
      properties: { tags: { type: "array", items: { anyOf: [{ type: "string" }, { type: "null" }] } } },
      required: ["tags"],
    };
    const answer = { content: { tags: ["waterproof", null, "light"] } };
    model.enqueue(answer, answer);
    const final = await scrape({ urls: [product()], prompt: "The product's tags", schema });
    expect(final.result!.ai_extraction_failed).toBe(false);
    expect(final.result!.content).toEqual({ tags: ["waterproof", null, "light"] });
  });
});

describe("model calls", () => {
  it("retries a model call that failed with a 5xx once, and returns the answer of the retry", async () => {
    model.enqueue({ status: 503, error: { message: "overloaded" } }, { content: { name: "Trailblazer" } });
    const final = await scrape({ urls: [product()], prompt: "The product name" });
    expect(final.result!.ai_extraction_failed).toBe(false);
    expect(final.result!.content).toEqual({ name: "Trailblazer" });
    expect(model.chatRequests()).toHaveLength(2);
  });

  it("does not wait for a rate limit that asks (retry-after-ms) for longer than a model call may take", async () => {
    // LLM_TIMEOUT_MS is 5 s here: a wait of a minute is not made, the answer is the fallback at once.
    model.enqueue(
      { status: 429, error: { message: "slow down" }, headers: { "retry-after-ms": "60000" } },
      { content: { name: "Trailblazer" } },
    );
    const final = await scrape({ urls: [product()], prompt: "The product name" });
    expect(final.result!.ai_extraction_failed).toBe(true);
    expect(final.result!.content).toEqual(expect.stringContaining(PRODUCTS[0]!.name));
    expect(model.chatRequests()).toHaveLength(1);
  });

  it("estimates the tokens of a call whose answer reports no usage, so they are still counted", async () => {
    const completion = {
      id: "chatcmpl-no-usage",
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: "test-model",
      choices: [{ index: 0, message: { role: "assistant", content: '{"name":"Trailblazer"}' }, finish_reason: "stop" }],
    };
    model.enqueue({ raw: JSON.stringify(completion) });
    const final = await scrape({ urls: [product()], prompt: "The product name" });
    expect(final.result!.content).toEqual({ name: "Trailblazer" });
    const sent = model.lastChat()!.promptText.length;
    const { inputTokens, outputTokens, totalTokens } = final.result!.stats;
    // About four characters a token: the prompt sent is far more than a handful of tokens.
    expect(inputTokens).toBeGreaterThan(sent / 8);
    expect(outputTokens).toBeGreaterThan(0);
    expect(totalTokens).toBe(inputTokens! + outputTokens!);
  });

  it("counts the tokens of per-item prompts (forEach itemPrompt) in the job's stats, besides the final answer's", async () => {
    model.setDefault((req) =>
      req.promptText.includes("Give the headline")
        ? { content: { headline: "scripted" }, usage: { prompt_tokens: 100, completion_tokens: 10 } }
        : { content: { stories: 2 }, usage: { prompt_tokens: 1000, completion_tokens: 200 } },
    );
    const final = await scrape({
      urls: [
        {
          url: site.url("/news"),
          actions: [
            {
              type: "forEach",
              selector: "article.story",
              mode: "inline",
              maxItems: 2,
              itemPrompt: "Give the headline",
            },
          ],
        },
      ],
      prompt: "Count the stories",
    });
    expect(final.result!.content).toEqual({ stories: 2 });
    const chats = model.chatRequests();
    const items = chats.filter((c) => c.promptText.includes("Give the headline")).length;
    expect(items).toBe(2);
    const stats = final.result!.stats;
    expect(stats.inputTokens).toBe(1000 + items * 100);
    expect(stats.outputTokens).toBe(200 + items * 10);
  });
});

describe("content kinds: an error status at the 400 boundary", () => {
  it("fails a JSON document answered with HTTP 400, in both modes", async () => {
    for (const scrapeMode of ["default", "fast"]) {
      const final = await scrapeAndWait(stack.api, key, {
        urls: [{ url: documentUrl("application/json", '{"error":"bad request"}', 400) }],
        scrapeMode,
      });
      expect(final.status, scrapeMode).toBe("failed");
      expect(final.error, scrapeMode).toContain("The page answered HTTP 400");
    }
  });

  it("fails a PDF answered with HTTP 400, in both modes, and reads the same PDF answered with 200", async () => {
    for (const scrapeMode of ["default", "fast"]) {
      const bad = await scrapeAndWait(stack.api, key, {
        urls: [{ url: site.url("/pdf/report.pdf?status=400") }],
        scrapeMode,
      });
      expect(bad.status, scrapeMode).toBe("failed");
      expect(bad.error, scrapeMode).toContain("The page answered HTTP 400");
      const good = await scrape({ urls: [{ url: site.url("/pdf/report.pdf") }], scrapeMode });
      expect(good.result!.content).toBe(REPORT_PDF_TEXT);
    }
  });
});

describe("HTML to Markdown rules, as a scrape returns them", () => {
  const PIXEL = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7";
  const html = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Markdown rules</title></head><body><main>
<h1>Markdown rules</h1>
<p>The harbour council approved the new budget after a long debate about the ferry timetable.</p>
<p><img src="${PIXEL}" data-src="/img/lazy.png" alt="Lazy photo"></p>
<p><img src="${PIXEL}" alt="Inline pixel"><img src="${PIXEL}" data-src="${PIXEL}" alt="Inline twice"></p>
<p>Read the <a href="/wiki/Ferry_(boat)" title="About ferries">ferry article</a> for more.</p>
<table><caption>Opening hours</caption><tr><th>Day</th><th>Hours</th></tr><tr><td>Mon</td><td>9-5</td></tr></table>
<table><tr><td>Left</td><td>Right</td></tr><tr><td colspan="100000">A hostile colspan</td></tr></table>
<table><tr><td><p>Layout left column</p><table><tr><td>Inner cell</td></tr></table></td><td><p>Layout right column</p></td></tr></table>
<div class="card"><a href="/card"><div>Card title</div><div>Card summary</div></a></div>
<p>Old price <del><a href="/icon"></a></del> withdrawn, new price <del>49.99</del> 39.99.</p>
</main></body></html>`;

  async function markdownOf(): Promise<{ markdown: string; origin: string }> {
    const url = documentUrl("text/html; charset=utf-8", html);
    const final = await scrape({ urls: [{ url }], scrapeMode: "fast" });
    expect(final.result!.data[0]!.success).toBe(true);
    return { markdown: final.result!.data[0]!.markdownContent, origin: new URL(url).origin };
  }

  it("takes a lazy image's data-src, drops inline data: images", async () => {
    const { markdown, origin } = await markdownOf();
    expect(markdown).toContain(`![Lazy photo](${origin}/img/lazy.png)`);
    expect(markdown).not.toContain("data:image");
    expect(markdown).not.toContain("Inline pixel");
    expect(markdown).not.toContain("Inline twice");
  });

  it("keeps a link's title and escapes parentheses in its destination", async () => {
    const { markdown, origin } = await markdownOf();
    expect(markdown).toContain(`[ferry article](${origin}/wiki/Ferry_\\(boat\\) "About ferries")`);
  });

  it("puts a table's caption above it and clamps a hostile colspan", async () => {
    const { markdown } = await markdownOf();
    expect(markdown).toMatch(/Opening hours\n\n\| Day \| Hours \|/);
    const wide = markdown.split("\n").find((line) => line.includes("A hostile colspan"))!;
    expect(wide).toBeDefined();
    // A cell per column the colspan asks for would make this one row hundreds of kilobytes long.
    expect(wide.length).toBeLessThan(1000);
    expect(markdown.length).toBeLessThan(5000);
  });

  it("renders a table that holds a table as blocks (page layout), not as one flattened row", async () => {
    const { markdown } = await markdownOf();
    const line = markdown.split("\n").find((l) => l.includes("Layout left column"))!;
    expect(line).toBeDefined();
    expect(line).not.toContain("Layout right column");
    expect(markdown).toContain("Layout right column");
  });

  it("keeps a link around block content on one line, and drops an empty strikethrough", async () => {
    const { markdown, origin } = await markdownOf();
    expect(markdown).toContain(`[Card title Card summary](${origin}/card)`);
    expect(markdown).toContain("~~49.99~~");
    expect(markdown).not.toContain("~~~~");
    expect(markdown).toMatch(/Old price\s+withdrawn/);
  });
});
