// Every kind of model failure ends in the raw-Markdown fallback, never in a throw.
import { describe, expect, it } from "vitest";
import { extractContent } from "../../src/llm/extract-content.ts";
import type { ExtractionOutcome } from "../../src/llm/extract-content.ts";
import type { Llm } from "../../src/llm/llm-types.ts";
import { closedPortBaseUrl, createLogSpy, testLlm, useOpenAIServer } from "./llm-test-helpers.ts";

const server = useOpenAIServer();

const pages = [
  { url: "https://a.test/", title: "A", markdown: "# A\n\nAlpha content." },
  { url: "https://b.test/", title: "B", markdown: "# B\n\nBeta content." },
];
const raw = "# A\n\nAlpha content.\n\n# B\n\nBeta content.";
const schema = { type: "object", required: ["name"], properties: { name: { type: "string" } } };

async function expectFallback(llm: Llm | null, reason: string, extra: object = {}): Promise<ExtractionOutcome> {
  const log = createLogSpy();
  const outcome = await extractContent({ llm, pages, prompt: "Extract the names", log, ...extra });
  expect(outcome).toMatchObject({ content: raw, aiExtractionFailed: true, failureReason: reason });
  const warning = log.warnings()[0];
  expect(warning?.obj).toMatchObject({ failureReason: reason });
  expect(warning?.msg).toMatch(/AI extraction failed/);
  return outcome;
}

describe("extractContent — model failures", () => {
  it("HTTP 500", async () => {
    server.enqueue({ status: 500 });
    const outcome = await expectFallback(testLlm(server.baseURL), "server");
    expect(outcome.calls).toBe(1);
  });

  it("HTTP 429 (rate limit)", async () => {
    server.enqueue({ status: 429, headers: { "retry-after": "1" } });
    await expectFallback(testLlm(server.baseURL), "rate_limit");
  });

  it("HTTP 401 (bad key)", async () => {
    server.enqueue({ status: 401 });
    await expectFallback(testLlm(server.baseURL), "auth");
  });

  it("connection refused (closed port)", async () => {
    await expectFallback(testLlm(await closedPortBaseUrl()), "connection", { schema });
  });

  it("timeout (the server hangs)", async () => {
    server.enqueue({ hang: true });
    const started = Date.now();
    await expectFallback(testLlm(server.baseURL, { timeoutMs: 300 }), "timeout");
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("invalid JSON in the model's answer (usage still counted)", async () => {
    server.enqueue({
      content: "I could not find any names, sorry.",
      usage: { prompt_tokens: 40, completion_tokens: 9 },
    });
    const outcome = await expectFallback(testLlm(server.baseURL), "invalid_json");
    expect(outcome.usage).toEqual({ inputTokens: 40, outputTokens: 9 });
  });

  it("a response body that is not JSON at all", async () => {
    server.enqueue({ raw: "<html>proxy error</html>" });
    await expectFallback(testLlm(server.baseURL), "invalid_json", { schema });
  });

  it("no model configured (llm null)", async () => {
    const outcome = await expectFallback(null, "no_model");
    expect(outcome).toMatchObject({ calls: 0, usage: { inputTokens: 0, outputTokens: 0 } });
  });

  it("an empty text answer", async () => {
    server.enqueue({ content: "   " });
    await expectFallback(testLlm(server.baseURL), "empty_response", { output: "markdown" });
  });

  it("a JSON-mode reply of null is an empty answer", async () => {
    server.enqueue({ content: "null" });
    await expectFallback(testLlm(server.baseURL), "empty_response");
  });

  it("a text answer cut at the token limit (finish_reason length)", async () => {
    server.enqueue({ content: "## Names\n\n- Alpha\n- Be", finishReason: "length" });
    await expectFallback(testLlm(server.baseURL), "truncated", { output: "markdown" });
  });

  it("the deadline: a stalled call ends at it, however long the client's timeout", async () => {
    server.setDefault({ hang: true });
    const llm = testLlm(server.baseURL, { timeoutMs: 60_000, maxRetries: 1 });
    const outcome = await expectFallback(llm, "deadline", { schema, deadline: Date.now() + 300 });
    expect(outcome.calls).toBe(1);
    expect(server.chatRequests()).toHaveLength(1);
  });

  it("the deadline: no chunk or repair call starts after it", async () => {
    const llm = testLlm(server.baseURL, { timeoutMs: 60_000 });
    server.setDefault({ delayMs: 150, then: { content: { name: "x" } } });
    const long = Array.from({ length: 30 }, (_, i) => `## Section ${i}\n\n${"Alpha beta gamma delta. ".repeat(20)}`);
    const outcome = await extractContent({
      llm,
      pages: [{ url: "https://a.test/", title: "A", markdown: long.join("\n\n") }],
      prompt: "Extract",
      inputBudgetTokens: 600,
      deadline: Date.now() + 200,
      log: createLogSpy(),
    });
    expect(outcome).toMatchObject({ aiExtractionFailed: true, failureReason: "deadline" });
    expect(server.chatRequests().length).toBeLessThanOrEqual(2);
    expect(outcome.calls).toBe(server.chatRequests().length);
  });

  it("a 429 whose Retry-After is past the deadline ends the extraction at once", async () => {
    server.setDefault({ status: 429, headers: { "retry-after": "30" } });
    const llm = testLlm(server.baseURL, { timeoutMs: 60_000, maxRetries: 1 });
    await expectFallback(llm, "rate_limit", { deadline: Date.now() + 5000 });
    expect(server.chatRequests()).toHaveLength(1);
  });

  it("pages without content are not sent to the model", async () => {
    const log = createLogSpy();
    const outcome = await extractContent({
      llm: testLlm(server.baseURL),
      pages: [{ url: "https://x.test/", title: "", markdown: "  \n " }],
      prompt: "Extract",
      log,
    });
    expect(outcome).toMatchObject({ aiExtractionFailed: true, failureReason: "empty_input", calls: 0 });
    expect(server.chatRequests()).toHaveLength(0);
  });
});
