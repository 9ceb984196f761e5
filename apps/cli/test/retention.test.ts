import { utimes } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createLocalBlobStore, type BlobStore } from "@orbweaver/storage";
import { waitFor, type FixtureSite } from "@orbweaver/testkit";
import { startRetentionSweeper } from "@orbweaver/worker";
import { Redis } from "ioredis";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { crawl, onOrigin, type CrawlPage } from "./helpers/crawl.ts";
import { pollBatch } from "./helpers/batch.ts";
import { call, scrapeAndWait } from "./helpers/http.ts";
import { startSiteAndStack, useStarted, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let stack: TestStack;
let key: string;

// Files are kept an hour here and finished work a day; the sweep runs every 300 ms so a test sees it.
useStarted(
  () =>
    startSiteAndStack({
      env: { BLOB_RETENTION_MS: "3600000", JOB_RETENTION_MS: "86400000", RETENTION_SWEEP_INTERVAL_MS: "300" },
    }),
  (started) => {
    ({ site, stack } = started);
  },
);

async function screenshotScrape(): Promise<{ jobId: string; link: string; file: string }> {
  if (!key) key = (await stack.createKey(100)).key;
  const final = await scrapeAndWait(stack.api, key, { urls: [{ url: site.url("/news") }], screenshot: true });
  expect(final.status).toBe("completed");
  const url = new URL(final.result!.screenshots[0]!);
  const blobKey = decodeURIComponent(url.pathname.replace(/^\/files\//, ""));
  return {
    jobId: final.jobId,
    link: `${stack.origin}${url.pathname}${url.search}`,
    file: join(stack.config.dataDir, "blobs", blobKey),
  };
}

describe("retention of stored files (BLOB_RETENTION_MS)", () => {
  it("deletes a screenshot once it is older than the retention; newer ones and the result stay", async () => {
    const old = await screenshotScrape();
    const fresh = await screenshotScrape();
    expect((await fetch(old.link)).status).toBe(200);
    // Two hours old, past the hour kept.
    const longAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(old.file, longAgo, longAgo);
    let status = 200;
    for (let i = 0; i < 100 && status === 200; i++) {
      await sleep(100);
      status = (await fetch(old.link)).status;
    }
    expect(status).toBe(404);
    // Several sweeps later the newer screenshot is still served.
    await sleep(1000);
    const kept = await fetch(fresh.link);
    expect(kept.status).toBe(200);
    expect(
      Buffer.from(await kept.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe("PNG");
    // The job itself is untouched: its result still names the (now missing) file.
    const again = await call<{ status: string; result: { screenshots: string[] } }>(
      `${stack.api}/scrape/${old.jobId}`,
      {
        key,
      },
    );
    expect(again.status).toBe(200);
    expect(again.body.status).toBe("completed");
    expect(again.body.result.screenshots).toHaveLength(1);
  });

  it("deletes a crawl's page files once they are older; the crawl and its pages stay, their links 404", async () => {
    if (!key) key = (await stack.createKey(100)).key;
    const done = await crawl(stack.api, key, { baseUrl: site.url("/site/"), maxPages: 2 });
    const pages = done.result!;
    expect(pages).toHaveLength(2);
    const [first, second] = pages as [CrawlPage, CrawlPage];
    for (const link of [first.html_url!, first.markdown_url!, second.markdown_url!]) {
      expect((await fetch(onOrigin(stack.origin, link))).status).toBe(200);
    }
    const longAgo = new Date(Date.now() - 2 * 3600_000);
    for (const blobKey of [first.htmlKey!, first.markdownKey!]) {
      await utimes(join(stack.config.dataDir, "blobs", blobKey), longAgo, longAgo);
    }
    let status = 200;
    for (let i = 0; i < 100 && status === 200; i++) {
      await sleep(100);
      status = (await fetch(onOrigin(stack.origin, first.markdown_url!))).status;
    }
    expect(status).toBe(404);
    expect((await fetch(onOrigin(stack.origin, first.html_url!))).status).toBe(404);
    expect((await fetch(onOrigin(stack.origin, second.markdown_url!))).status).toBe(200);
    const after = await call<{ pages: CrawlPage[] }>(`${stack.api}/crawl/${done.jobId}/pages`, { key });
    expect(after.status).toBe(200);
    expect(after.body.pages.map((p) => [p.id, p.status])).toEqual(pages.map((p) => [p.id, "success"]));
  });

  it("sweeps once per interval however many workers tick", async () => {
    const sweeps: Date[] = [];
    const store = createLocalBlobStore(join(stack.config.dataDir, "blobs"));
    const counting: BlobStore = {
      ...store,
      deleteOlderThan: (cutoff) => {
        sweeps.push(cutoff);
        return store.deleteOlderThan(cutoff);
      },
    };
    const redis = new Redis(stack.config.redisUrl);
    const log = pino({ level: "silent" });
    const lockKey = `${stack.config.queuePrefix}:test-sweep-lock`;
    const make = () =>
      startRetentionSweeper({
        files: { blobs: counting, maxAgeMs: 3600_000 },
        redis,
        log,
        intervalMs: 60_000,
        lockKey,
      });
    const sweepers = [make(), make(), make()];
    try {
      for (const s of sweepers) s.stop();
      const answers = await Promise.all(sweepers.map((s) => s.runOnce()));
      // The start-up ticks were stopped before they ran; of three passes at once, one sweeps.
      expect(answers.filter((a) => a !== null)).toHaveLength(1);
      expect(sweeps).toHaveLength(1);
      expect(Date.now() - 3600_000 - sweeps[0]!.getTime()).toBeLessThan(5_000);
      expect(await sweepers[0]!.runOnce()).toBeNull();
      await redis.del(lockKey);
      expect(await sweepers[1]!.runOnce()).toEqual({ files: 0, scrapes: 0, batches: 0, crawls: 0 });
      expect(sweeps).toHaveLength(2);
    } finally {
      await redis.del(lockKey);
      redis.disconnect();
    }
  });
});

/** Moves rows' clocks back, as if they had finished `days` ago. */
async function age(table: "jobs" | "batches", where: "id" | "batch_id", ids: string[], days: number) {
  await stack.pool.query(
    `update ${table} set finished_at = now() - $2::interval, updated_at = now() - $2::interval,
            created_at = now() - $2::interval
      where ${where} = any($1::uuid[])`,
    [ids, `${days} days`],
  );
}

describe("retention of finished work (JOB_RETENTION_MS)", () => {
  it("deletes scrapes, batches and crawls finished before it; newer work and the credit ledger stay", async () => {
    const { key: own, accountId } = await stack.createKey(100);
    const scrape = async () => {
      const final = await scrapeAndWait(stack.api, own, { urls: [{ url: site.url("/news") }] });
      expect(final.status).toBe("completed");
      return final.jobId;
    };
    const oldScrape = await scrape();
    const newScrape = await scrape();
    const batch = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key: own,
      body: { urls: [site.url("/product/1")] },
    });
    expect(batch.status).toBe(202);
    expect((await pollBatch(stack.api, own, batch.body.batchId)).status).toBe("completed");
    const crawled = await crawl(stack.api, own, { baseUrl: site.url("/site/"), maxPages: 1 });
    const ledgerBefore = await stack.pool.query("select count(*)::int as n from credit_ledger where account_id = $1", [
      accountId,
    ]);

    await age("jobs", "id", [oldScrape, crawled.jobId], 2);
    await age("jobs", "batch_id", [batch.body.batchId], 2);
    await age("batches", "id", [batch.body.batchId], 2);

    const gone = async (path: string) => (await call(`${stack.api}${path}`, { key: own })).status === 404;
    await waitFor(async () => ((await gone(`/scrape-logs/${oldScrape}`)) ? true : undefined), {
      timeoutMs: 15_000,
      message: "the old scrape's log to go",
    });
    await waitFor(
      async () =>
        (await gone(`/batch/scrape/${batch.body.batchId}`)) && (await gone(`/crawl/${crawled.jobId}`))
          ? true
          : undefined,
      { timeoutMs: 15_000, message: "the old batch and crawl to go" },
    );
    expect(await gone(`/crawl/${crawled.jobId}/pages`)).toBe(true);
    const left = await stack.pool.query(
      "select (select count(*) from crawl_pages where crawl_id = $1)::int as pages, (select count(*) from batch_items where batch_id = $2)::int as items",
      [crawled.jobId, batch.body.batchId],
    );
    expect(left.rows[0]).toEqual({ pages: 0, items: 0 });

    // The newer scrape is untouched, the account's ledger whole, its usage answered.
    const kept = await call<{ status: string }>(`${stack.api}/scrape-logs/${newScrape}`, { key: own });
    expect(kept.status).toBe(200);
    expect((await call(`${stack.api}/scrape/${newScrape}`, { key: own })).status).toBe(200);
    const ledgerAfter = await stack.pool.query("select count(*)::int as n from credit_ledger where account_id = $1", [
      accountId,
    ]);
    expect(ledgerAfter.rows[0]).toEqual(ledgerBefore.rows[0]);
    expect((await call(`${stack.api}/usage-stats?range=7d`, { key: own })).status).toBe(200);
  });
});
