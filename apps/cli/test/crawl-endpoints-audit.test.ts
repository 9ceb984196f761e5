// Defects found auditing the crawl endpoints other than link discovery (status, pages, extract,
// cancel, download, retry, job, history, stats, webhooks): each test failed before its fix.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { loadConfig } from "@orbweaver/config";
import { waitFor, type FixtureSite, type OpenAIServer, type ScriptedReply } from "@orbweaver/testkit";
import { pino } from "pino";
import { beforeEach, describe, expect, it } from "vitest";
import { WebhookSender } from "../../worker/src/crawl/webhook-sender.ts";
import { crawl, pollCrawl, readZip, startCrawl, type CrawlPage } from "./helpers/crawl.ts";
import { call } from "./helpers/http.ts";
import { testEnv } from "./helpers/test-env.ts";
import { useWorkerProcesses } from "./helpers/spawn.ts";
import { startModelStack, startSiteAndStack, useStarted, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let model: OpenAIServer;
let stack: TestStack;
let reply: ScriptedReply;

/** The stack with an in-process worker and a scripted model, for the blocks that need them. */
function useModelStack(): void {
  useStarted(
    () => startModelStack({ LLM_MODEL: "test-model", CREDITS_PER_1K_TOKENS: "1" }),
    (started) => ({ site, model, stack } = started),
  );
  beforeEach(() => {
    model.reset();
    reply = { content: { title: "From the model" }, usage: { prompt_tokens: 500, completion_tokens: 30 } };
    model.setDefault(() => reply);
  });
}

type AuditPage = CrawlPage & { ai_extraction_failed?: boolean };

const pagesOf = async (key: string, jobId: string) =>
  (await call<{ pages: AuditPage[] }>(`${stack.api}/crawl/${jobId}/pages`, { key })).body.pages;

describe("a page whose extraction failed", () => {
  useModelStack();

  it("is flagged (ai_extraction_failed) in result[] and /pages, and the crawl says why in its notes", async () => {
    const { key } = await stack.createKey(100);
    reply = { status: 500 };
    const done = await crawl(stack.api, key, {
      baseUrl: site.url("/site/"),
      maxPages: 2,
      transformInstruction: "Get the page title",
    });
    // The model failed: data falls back to the page Markdown, which a client cannot tell from an
    // extraction that returned a string unless it is told.
    const result = done.result as AuditPage[];
    expect(result.map((p) => typeof p.data)).toEqual(["string", "string"]);
    expect(result.map((p) => p.ai_extraction_failed)).toEqual([true, true]);
    expect((await pagesOf(key, done.jobId)).map((p) => p.ai_extraction_failed)).toEqual([true, true]);
    expect(done.notes?.some((n) => n.includes("could not extract"))).toBe(true);

    // A re-extraction that works clears the flag on that page.
    reply = { content: { title: "Second pass" }, usage: { prompt_tokens: 10, completion_tokens: 2 } };
    const retried = await call(`${stack.api}/crawl/${done.jobId}/retry/${result[0]!.id}`, { key, method: "POST" });
    expect(retried.body).toMatchObject({ success: true, data: { title: "Second pass" } });
    expect((await pagesOf(key, done.jobId)).map((p) => p.ai_extraction_failed)).toEqual([false, true]);

    // A crawl whose model answered: false everywhere, no note.
    const fine = await crawl(stack.api, key, {
      baseUrl: site.url("/site/"),
      maxPages: 1,
      transformInstruction: "Get the page title",
    });
    expect((fine.result as AuditPage[]).map((p) => p.ai_extraction_failed)).toEqual([false]);
    expect(fine.notes).toBeUndefined();
    // Without transformInstruction/schema there is no extraction to fail.
    const plain = await crawl(stack.api, key, { baseUrl: site.url("/site/"), maxPages: 1 });
    expect((plain.result as AuditPage[]).map((p) => p.ai_extraction_failed)).toEqual([false]);
  });

  it("is flagged in an extraction job (POST /crawl/{id}/extract) too", async () => {
    const { key } = await stack.createKey(100);
    const source = await crawl(stack.api, key, { baseUrl: site.url("/site/"), maxPages: 2 });
    reply = { status: 500 };
    const res = await call<{ jobId: string }>(`${stack.api}/crawl/${source.jobId}/extract`, {
      key,
      body: { transformInstruction: "Get the page title" },
    });
    expect(res.status).toBe(202);
    const { final } = await pollCrawl(stack.api, key, res.body.jobId);
    expect(final.status).toBe("completed");
    expect((final.result as AuditPage[]).map((p) => p.ai_extraction_failed)).toEqual([true, true]);
    expect(final.notes?.some((n) => n.includes("could not extract"))).toBe(true);
  });
});

describe("webhooks of a worker shutting down", () => {
  // No worker in this process: the crawl runs in a spawned worker that is stopped with SIGTERM.
  let own: { site: FixtureSite; stack: TestStack };
  useStarted(
    () => startSiteAndStack({ worker: false }),
    (started) => (own = started),
  );
  const startWorkerProcess = useWorkerProcesses(() => own.stack.env);

  it("delivers the events of finished crawls still being retried before the process exits", async () => {
    const { key } = await own.stack.createKey(100);
    const worker = startWorkerProcess();
    // crawl.completed fails twice (the sender retries after 1 s, then 3 s); at its first delivery
    // the worker is asked to stop: it has no running job left, so it would exit at once.
    const completed: number[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { event: string };
        if (body.event !== "crawl.completed") return void res.writeHead(200).end("ok");
        completed.push(completed.length + 1);
        if (completed.length === 1) worker.child.kill("SIGTERM");
        res.writeHead(completed.length <= 2 ? 500 : 200).end(completed.length <= 2 ? "later" : "ok");
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    try {
      const port = (receiver.address() as AddressInfo).port;
      const jobId = await startCrawl(own.stack.api, key, {
        baseUrl: own.site.url("/site/"),
        maxPages: 1,
        webhookUrl: `http://127.0.0.1:${port}/hook`,
      });
      const { final } = await pollCrawl(own.stack.api, key, jobId);
      expect(final.status).toBe("completed");
      await waitFor(() => completed.length > 0, { timeoutMs: 20_000, message: "crawl.completed posted" });
      expect(await worker.exited, worker.output().slice(-2000)).toBe(0);
      // The third attempt (the one the receiver accepts) was made before the process exited.
      expect(completed).toEqual([1, 2, 3]);
    } finally {
      receiver.closeAllConnections();
      await new Promise<void>((r) => receiver.close(() => r()));
    }
  });
});

describe("GET /crawl/{id}/download", () => {
  useModelStack();

  it("takes include as a comma list or as the key repeated (Python requests, qs), and refuses unknown parts", async () => {
    const { key } = await stack.createKey(100);
    const done = await crawl(stack.api, key, { baseUrl: site.url("/site/"), maxPages: 2 });
    const files = async (query: string) => {
      const res = await fetch(`${stack.api}/crawl/${done.jobId}/download${query}`, { headers: { "x-api-key": key } });
      const bytes = Buffer.from(await res.arrayBuffer());
      return res.status === 200 ? [...readZip(bytes).keys()].sort() : { status: res.status, body: bytes.toString() };
    };
    const expected = [
      "001-site/data.json",
      "001-site/page.html",
      "002-site-about/data.json",
      "002-site-about/page.html",
      "index.json",
    ];
    expect(await files("?include=html,data")).toEqual(expected);
    expect(await files("?include=html&include=data")).toEqual(expected);
    expect(await files("?include=data&include=")).toEqual([
      "001-site/data.json",
      "002-site-about/data.json",
      "index.json",
    ]);
    const bad = await files("?include=html&include=pdf");
    expect(bad).toMatchObject({ status: 400 });
    expect((bad as { body: string }).body).toContain('unknown part \\"pdf\\"');
  });
});

describe("a webhook whose signing secret cannot be read at first", () => {
  it("retries the delivery (a Postgres blip) instead of dropping the event", async () => {
    const received: Array<{ signature: string | undefined; raw: string }> = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const signature = req.headers["x-spidra-signature"];
        received.push({
          signature: typeof signature === "string" ? signature : undefined,
          raw: Buffer.concat(chunks).toString(),
        });
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    try {
      let reads = 0;
      const sender = new WebhookSender({
        url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
        policy: loadConfig(testEnv()).network,
        secret: async () => {
          reads++;
          if (reads === 1) throw new Error("Connection terminated unexpectedly");
          return "whsec_test";
        },
        log: pino({ level: "silent" }),
        retryDelaysMs: [10, 10],
      });
      sender.send({ event: "crawl.completed", jobId: "j", pagesScraped: 1, creditsUsed: 2 });
      sender.send({ event: "crawl.failed", jobId: "k", error: "x" });
      await sender.drain();
      expect(received.map((r) => JSON.parse(r.raw).event)).toEqual(["crawl.completed", "crawl.failed"]);
      expect(received[0]!.signature).toMatch(/^sha256=[0-9a-f]{64}$/);
      // Read once it could be: not once per event.
      expect(reads).toBe(2);
    } finally {
      receiver.closeAllConnections();
      await new Promise<void>((r) => receiver.close(() => r()));
    }
  });
});
