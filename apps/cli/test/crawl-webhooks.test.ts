import { createHmac } from "node:crypto";
import { ensureWebhookSecret } from "@orbweaver/db";
import { createCrawlQueue, createRedisConnection } from "@orbweaver/queue";
import type { FixtureSite } from "@orbweaver/testkit";
import { describe, expect, it } from "vitest";
import { pollCrawl, startCrawl, startWebhookReceiver } from "./helpers/crawl.ts";
import { call } from "./helpers/http.ts";
import { runCli } from "./helpers/spawn.ts";
import { startSiteAndStack, startTestStack, useStarted, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let stack: TestStack;

useStarted(
  () => startSiteAndStack(),
  (started) => ({ site, stack } = started),
);

const sign = (secret: string, raw: string) => `sha256=${createHmac("sha256", secret).update(raw).digest("hex")}`;

describe("crawl webhooks", () => {
  it("posts crawl.page and crawl.completed signed with the account's secret (shown by the CLI), retrying failures", async () => {
    const { key, accountId } = await stack.createKey(100);
    const receiver = await startWebhookReceiver({ failFirst: 1 });
    try {
      const jobId = await startCrawl(stack.api, key, {
        baseUrl: site.url("/site/"),
        maxPages: 2,
        webhookUrl: receiver.url,
      });
      const { final } = await pollCrawl(stack.api, key, jobId);
      expect(final.status).toBe("completed");
      await receiver.delivered("crawl.completed");
      const cli = await runCli(["webhooks", "secret", "--account", accountId, "--json"], stack.env);
      expect(cli.code, cli.output).toBe(0);
      const { secret } = JSON.parse(cli.stdout.trim()) as { secret: string };
      expect(secret).toMatch(/^whsec_/);
      // Asking again shows the same secret.
      const again = await runCli(["webhooks", "secret", "--account", accountId], stack.env);
      expect(again.stdout).toContain(secret);

      for (const hook of receiver.received) {
        expect(hook.headers["content-type"]).toBe("application/json");
        expect(hook.headers["x-spidra-signature"]).toBe(sign(secret, hook.raw));
      }
      // The first delivery failed (500) and was retried with the same body and signature.
      expect(receiver.received[0]!.raw).toBe(receiver.received[1]!.raw);
      const events = receiver.received.slice(1).map((h) => h.body);
      expect(events.map((e) => e.event)).toEqual(["crawl.page", "crawl.page", "crawl.completed"]);
      const page = events[0]!.page as Record<string, unknown>;
      expect(page).toMatchObject({ url: site.url("/site/"), status: "success", title: "Acme Docs - Home" });
      expect(typeof page.id).toBe("string");
      expect(events[2]).toEqual({ event: "crawl.completed", jobId, pagesScraped: 2, creditsUsed: 4 });
    } finally {
      await receiver.close();
    }
  });

  it("posts crawl.failed when no page could be crawled", async () => {
    const { key } = await stack.createKey(100);
    const receiver = await startWebhookReceiver();
    try {
      const jobId = await startCrawl(stack.api, key, { baseUrl: site.url("/site/nowhere"), webhookUrl: receiver.url });
      const { final } = await pollCrawl(stack.api, key, jobId);
      expect(final.status).toBe("failed");
      expect(final.result).toBeNull();
      expect(final.error).toContain("404");
      await receiver.delivered("crawl.failed");
      const failed = receiver.received.find((h) => h.body.event === "crawl.failed")!;
      expect(failed.body).toEqual({ event: "crawl.failed", jobId, error: final.error });
      const job = await call<{ credits_used: number; status: string }>(`${stack.api}/crawl/job/${jobId}`, { key });
      expect(job.body).toMatchObject({ status: "failed", credits_used: 0 });
    } finally {
      await receiver.close();
    }
  });

  it("posts crawl.failed when the reconciler gives up a crawl the queue lost", async () => {
    // No worker yet: the crawl waits in the queue, which then loses it with its attempts used up.
    const idle = await startTestStack({ worker: false, env: { RECONCILE_INTERVAL_MS: "1000" } });
    const receiver = await startWebhookReceiver();
    const redis = createRedisConnection(idle.config.redisUrl, "producer");
    const queue = createCrawlQueue({ connection: redis, prefix: idle.config.queuePrefix, attempts: 1 });
    try {
      const { key, accountId } = await idle.createKey(100);
      const jobId = await startCrawl(idle.api, key, {
        baseUrl: site.url("/site/"),
        maxPages: 2,
        webhookUrl: receiver.url,
      });
      const lost = await queue.getJob(jobId);
      expect(lost).toBeDefined();
      await lost!.remove();
      await idle.pool.query("update jobs set attempts = 99, updated_at = now() - interval '1 hour' where id = $1", [
        jobId,
      ]);
      await idle.startWorker();
      const { final } = await pollCrawl(idle.api, key, jobId, 60_000);
      expect(final.status).toBe("failed");
      expect(final.error).toMatch(/given up/);
      await receiver.delivered("crawl.failed");
      expect(receiver.received).toHaveLength(1);
      const hook = receiver.received[0]!;
      expect(hook.body).toEqual({ event: "crawl.failed", jobId, error: final.error });
      const secret = await ensureWebhookSecret(idle.db, accountId);
      expect(hook.headers["x-spidra-signature"]).toBe(sign(secret!, hook.raw));
      // Nothing was charged, and no page was loaded.
      const job = await call<{ credits_used: number; pages_crawled: number }>(`${idle.api}/crawl/job/${jobId}`, {
        key,
      });
      expect(job.body).toMatchObject({ credits_used: 0, pages_crawled: 0 });
    } finally {
      await queue.close();
      redis.disconnect();
      await idle.stop();
      await receiver.close();
    }
  });

  it("refuses webhook URLs the SSRF rule forbids, and never connects to them", async () => {
    const receiver = await startWebhookReceiver();
    // Private addresses refused, except the fixture site's host:port.
    const strict = await startTestStack({
      worker: false,
      env: { ALLOW_PRIVATE_NETWORK: "false", ALLOW_HOSTS: `127.0.0.1:${site.port}` },
    });
    try {
      const { key } = await strict.createKey(100);
      for (const webhookUrl of [receiver.url, "http://169.254.169.254/latest/meta-data", "http://localhost:9/x"]) {
        const res = await call<{ message: string; errors: string[] }>(`${strict.api}/crawl`, {
          key,
          body: { baseUrl: site.url("/site/"), webhookUrl },
        });
        expect(res.status, webhookUrl).toBe(400);
        expect(res.body.errors[0]).toMatch(/^webhookUrl: /);
      }
      const ok = await call(`${strict.api}/crawl`, { key, body: { baseUrl: site.url("/site/"), maxPages: 1 } });
      expect(ok.status).toBe(202);
      await call(`${strict.api}/crawl/${(ok.body as { jobId: string }).jobId}`, { key, method: "DELETE" });
      expect(receiver.received).toHaveLength(0);
    } finally {
      await strict.stop();
      await receiver.close();
    }
  });
});
