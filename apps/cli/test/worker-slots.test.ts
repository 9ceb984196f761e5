import { createServer } from "node:http";
import { PRODUCTS, waitFor, type FixtureSite, type OpenAIServer } from "@orbweaver/testkit";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { call, pollScrape, scrapeAndWait, type PollBody } from "./helpers/http.ts";
import { startModelStack, useStarted, type TestStack } from "./helpers/stack.ts";

/*
 * WORKER_CONCURRENCY counts the jobs a worker has in its browser at once. A job holds its slot from
 * its claim until its pages are read; the model call and the result write run outside it, so a
 * slow model does not leave the browser idle while other jobs wait.
 */

const CONCURRENCY = 2;

let site: FixtureSite;
let model: OpenAIServer;
let stack: TestStack;
let key: string;

useStarted(
  () => startModelStack({ WORKER_CONCURRENCY: String(CONCURRENCY), LLM_TIMEOUT_MS: "60000" }),
  (started) => ({ site, model, stack } = started),
);
beforeAll(async () => {
  ({ key } = await stack.createKey(10_000));
});
beforeEach(() => model.reset());

async function submit(body: Record<string, unknown>): Promise<string> {
  const res = await call<{ jobId: string }>(`${stack.api}/scrape`, { key, body });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.jobId;
}

async function status(jobId: string): Promise<string> {
  const res = await call<PollBody>(`${stack.api}/scrape/${jobId}`, { key });
  expect(res.status).toBe(200);
  return res.body.status;
}

describe("browser slots", () => {
  it("jobs waiting on the model do not hold the browser: another job's pages load and finish meanwhile", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const extraction = { content: { name: "held" }, usage: { prompt_tokens: 10, completion_tokens: 5 } };
    model.setDefault({ until: gate, then: extraction });
    // As many extraction jobs as there are slots, all held in their model call.
    const held: string[] = [];
    for (let i = 0; i < CONCURRENCY; i++) {
      held.push(await submit({ urls: [{ url: site.url(`/product/${i + 1}`) }], prompt: "Name", output: "json" }));
    }
    try {
      await waitFor(() => model.chatRequests().length === CONCURRENCY, {
        timeoutMs: 30_000,
        message: "every held job to reach the model",
      });
      const plain = await scrapeAndWait(stack.api, key, { urls: [{ url: site.url("/product/3") }] }, 30_000);
      expect(plain.status).toBe("completed");
      expect(plain.result!.content).toEqual(expect.stringContaining(PRODUCTS[2]!.name));
      for (const jobId of held) expect(await status(jobId)).not.toMatch(/completed|failed/);
    } finally {
      release();
    }
    for (const jobId of held) {
      const { final } = await pollScrape(stack.api, key, jobId, 30_000);
      expect(final.status).toBe("completed");
      expect(final.result!.content).toEqual({ name: "held" });
    }
  });

  it(`never has more than WORKER_CONCURRENCY (${CONCURRENCY}) jobs' pages loading at once`, async () => {
    // A page that answers after 400 ms and counts how many of its loads overlap.
    let inFlight = 0;
    let most = 0;
    const slow = createServer((req, res) => {
      if (!req.url?.startsWith("/page")) return void res.writeHead(404).end();
      most = Math.max(most, ++inFlight);
      setTimeout(() => {
        inFlight--;
        const text = `Page ${req.url} of the slow site, which takes its time to answer every visitor.`;
        res.writeHead(200, { "content-type": "text/html" }).end(`<title>Slow</title><p>${text}</p>`);
      }, 400);
    });
    await new Promise<void>((r) => slow.listen(0, "127.0.0.1", r));
    try {
      const { port } = slow.address() as { port: number };
      const jobs = CONCURRENCY * 3;
      const ids: string[] = [];
      // Actions take the browser path (no HTTP-first try).
      for (let i = 0; i < jobs; i++) {
        ids.push(
          await submit({
            urls: [{ url: `http://127.0.0.1:${port}/page/${i}`, actions: [{ type: "wait", duration: 0 }] }],
          }),
        );
      }
      for (const [i, jobId] of ids.entries()) {
        const { final } = await pollScrape(stack.api, key, jobId, 60_000);
        expect(final.status, JSON.stringify(final)).toBe("completed");
        expect(final.result!.data[0]!.markdownContent).toContain(`Page /page/${i}`);
      }
      expect(most).toBe(CONCURRENCY);
    } finally {
      slow.closeAllConnections();
      await new Promise((r) => slow.close(r));
    }
  });
});
