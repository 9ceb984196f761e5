// A keyed submit whose job Postgres committed but whose answer the gateway never heard (the
// connection dropped right after the commit): the client gets 503 and retries with the same
// Idempotency-Key. The retry must get the job that exists, not create and charge a second one, and
// that job must still run. A proxy between the stack and Postgres loses the one answer.
import type { FixtureSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollBatch } from "./helpers/batch.ts";
import { pollCrawl } from "./helpers/crawl.ts";
import { call, pollScrape } from "./helpers/http.ts";
import { startPgAnswerDropper, type DropTrigger, type PgAnswerDropper } from "./helpers/pg-answer-dropper.ts";
import { startSiteAndStack, type SiteAndStack, type TestStack } from "./helpers/stack.ts";
import { testEnv } from "./helpers/test-env.ts";

interface Envelope {
  status: string;
  message: string;
  code?: string;
  retry_after?: number;
}

let proxy: PgAnswerDropper;
let started: SiteAndStack;
let site: FixtureSite;
let stack: TestStack;

beforeAll(async () => {
  proxy = await startPgAnswerDropper(testEnv().DATABASE_URL ?? "");
  try {
    // Gateway and worker reach Postgres through the proxy; the reconciler runs often, so a job
    // whose dispatch the failed submit withdrew (or never made) is dispatched again soon (a crawl
    // once JOB_TIMEOUT_MS + 2 × JOB_LOCK_MS passed).
    started = await startSiteAndStack({
      env: {
        DATABASE_URL: proxy.url,
        RECONCILE_INTERVAL_MS: "1000",
        JOB_LOCK_MS: "2000",
        STALLED_INTERVAL_MS: "2000",
        JOB_TIMEOUT_MS: "10000",
      },
    });
  } catch (err) {
    await proxy.close();
    throw err;
  }
  ({ site, stack } = started);
});
afterAll(async () => {
  await started?.stop();
  await proxy?.close();
});

/** Submits with Postgres's answer to `trigger` lost; returns what the client got. */
async function submitLosingAnswer(trigger: DropTrigger, submit: () => Promise<{ status: number; body: unknown }>) {
  const dropped = proxy.dropNextAnswer(trigger);
  const answer = await submit();
  await dropped;
  return answer;
}

async function jobsOf(accountId: string): Promise<Array<{ id: string; kind: string; batch_id: string | null }>> {
  const { rows } = await stack.pool.query(
    "select id, kind, batch_id from jobs where account_id = $1 order by created_at, id",
    [accountId],
  );
  return rows as Array<{ id: string; kind: string; batch_id: string | null }>;
}

async function reservesOf(accountId: string): Promise<string[]> {
  const { rows } = await stack.pool.query(
    "select job_id from credit_ledger where account_id = $1 and reason = 'reserve' order by job_id",
    [accountId],
  );
  return rows.map((r: { job_id: string }) => r.job_id);
}

describe("Idempotency-Key when the answer to the job's commit is lost", () => {
  it("scrape: the 503's retry with the same key gets the job Postgres holds, charged once, and it completes", async () => {
    const { key, accountId } = await stack.createKey(10);
    const body = { urls: [{ url: site.url("/") }] };
    const headers = { "idempotency-key": "lost-answer-scrape" };
    const first = await submitLosingAnswer({ statement: /orbweaver_create_scrape_jobs/ }, () =>
      call<Envelope>(`${stack.api}/scrape`, { key, body, headers }),
    );
    expect(first.status, JSON.stringify(first.body)).toBe(503);
    expect(first.body).toMatchObject({ status: "error", code: "SERVICE_BUSY" });
    const [created, ...others] = await jobsOf(accountId);
    expect(others).toEqual([]);

    const retry = await call<{ status: string; jobId: string }>(`${stack.api}/scrape`, { key, body, headers });
    expect(retry.status, JSON.stringify(retry.body)).toBe(202);
    expect(retry.body).toMatchObject({ status: "queued", jobId: created?.id });
    const { final } = await pollScrape(stack.api, key, retry.body.jobId);
    expect(final.status, JSON.stringify(final)).toBe("completed");

    expect((await jobsOf(accountId)).map((j) => j.id)).toEqual([retry.body.jobId]);
    expect(await reservesOf(accountId)).toEqual([retry.body.jobId]);
    expect(await stack.balance(accountId)).toBe(10 - stack.config.limits.creditsPerUrl);
  });

  it("scrape with cookies: the job whose answer was lost runs with the cookies it was sent with", async () => {
    // Before, the failed submit withdrew the job's dispatch and deleted its sealed cookies: the
    // committed job ran only when the reconciler found it, and then without its cookies.
    const { key, accountId } = await stack.createKey(10);
    const body = { urls: [{ url: site.url("/cookies") }], cookies: "session=kept-through-a-lost-answer" };
    const headers = { "idempotency-key": "lost-answer-cookies" };
    const first = await submitLosingAnswer({ statement: /orbweaver_create_scrape_jobs/ }, () =>
      call<Envelope>(`${stack.api}/scrape`, { key, body, headers }),
    );
    expect(first.status, JSON.stringify(first.body)).toBe(503);
    const retry = await call<{ status: string; jobId: string }>(`${stack.api}/scrape`, { key, body, headers });
    expect(retry.status, JSON.stringify(retry.body)).toBe(202);
    const { final } = await pollScrape(stack.api, key, retry.body.jobId);
    expect(final.status, JSON.stringify(final)).toBe("completed");
    const result = JSON.stringify(final.result);
    expect(result).toContain("kept-through-a-lost-answer");
    expect(result).toContain("1 cookie");
    expect((await jobsOf(accountId)).map((j) => j.id)).toEqual([retry.body.jobId]);
  });

  it("batch: the 503's retry with the same key gets the batch Postgres holds, charged once, and it completes", async () => {
    const { key, accountId } = await stack.createKey(10);
    const body = { urls: [site.url("/"), site.url("/news")] };
    const headers = { "idempotency-key": "lost-answer-batch" };
    const first = await submitLosingAnswer({ after: /insert into "batch_items"/i, statement: /\bcommit\b/i }, () =>
      call<Envelope>(`${stack.api}/batch/scrape`, { key, body, headers }),
    );
    expect(first.status, JSON.stringify(first.body)).toBe(503);
    expect(first.body).toMatchObject({ status: "error", code: "SERVICE_BUSY" });
    const { rows: batches } = await stack.pool.query("select id from batches where account_id = $1", [accountId]);
    expect(batches).toHaveLength(1);

    const retry = await call<{ status: string; batchId: string; total: number }>(`${stack.api}/batch/scrape`, {
      key,
      body,
      headers,
    });
    expect(retry.status, JSON.stringify(retry.body)).toBe(202);
    expect(retry.body).toMatchObject({ status: "queued", batchId: batches[0]?.id, total: 2 });
    const done = await pollBatch(stack.api, key, retry.body.batchId, 60_000);
    expect(done).toMatchObject({ status: "completed", completedCount: 2, failedCount: 0 });

    const jobs = await jobsOf(accountId);
    expect(jobs.map((j) => j.batch_id)).toEqual([retry.body.batchId, retry.body.batchId]);
    expect(await reservesOf(accountId)).toEqual(jobs.map((j) => j.id).sort());
    expect(await stack.balance(accountId)).toBe(10 - 2 * stack.config.limits.creditsPerUrl);
  });

  it("crawl: the 503's retry with the same key gets the crawl Postgres holds, charged once, and it completes", async () => {
    const { key, accountId } = await stack.createKey(20);
    const body = { baseUrl: site.url("/"), maxPages: 1 };
    const headers = { "idempotency-key": "lost-answer-crawl" };
    const first = await submitLosingAnswer({ after: /insert into "crawls"/i, statement: /\bcommit\b/i }, () =>
      call<Envelope>(`${stack.api}/crawl`, { key, body, headers }),
    );
    expect(first.status, JSON.stringify(first.body)).toBe(503);
    expect(first.body).toMatchObject({ status: "error", code: "SERVICE_BUSY" });
    const [created, ...others] = await jobsOf(accountId);
    expect(others).toEqual([]);

    const retry = await call<{ status: string; jobId: string }>(`${stack.api}/crawl`, { key, body, headers });
    expect(retry.status, JSON.stringify(retry.body)).toBe(202);
    expect(retry.body).toMatchObject({ status: "queued", jobId: created?.id });
    const { final } = await pollCrawl(stack.api, key, retry.body.jobId, 60_000);
    expect(final.status, JSON.stringify(final)).toBe("completed");

    expect(await jobsOf(accountId)).toEqual([{ id: retry.body.jobId, kind: "crawl", batch_id: null }]);
    expect(await reservesOf(accountId)).toEqual([retry.body.jobId]);
    expect(await stack.balance(accountId)).toBe(20 - stack.config.crawl.creditsPerPage);
  });
});
