// Issue 8, "Abuse and bad input" / tenant isolation: account B never reads, cancels, retries or
// downloads anything of account A, on every route of the gateway's route table (a new route with an
// id parameter fails this test until it is covered); keys are stored hashed, a revoked key stops at
// once, and neither keys nor cookies reach the gateway's logs at debug level.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { startApi } from "@orbweaver/api";
import { getFreePort, startFixtureSite, startOpenAIServer, waitFor } from "@orbweaver/testkit";
import type { FixtureSite, OpenAIServer } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollBatch, type BatchBody } from "./helpers/batch.ts";
import { onOrigin, pollCrawl, startCrawl, type CrawlPage } from "./helpers/crawl.ts";
import { call, pollScrape } from "./helpers/http.ts";
import { runCli, spawnCli, type Spawned } from "./helpers/spawn.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

const run = promisify(execFile);

let site: FixtureSite;
let model: OpenAIServer;
let stack: TestStack;
let routeApi: Awaited<ReturnType<typeof startApi>>;
let debugApi: Spawned;
let debugOrigin: string;

interface Account {
  key: string;
  accountId: string;
}
let a: Account;
let b: Account;

/** Everything account A owns, by kind. */
const owned = {
  scrapeJobId: "",
  screenshotUrl: "",
  batchId: "",
  batchItemJobIds: [] as string[],
  pendingBatchId: "",
  crawlId: "",
  pageIds: [] as string[],
  extractCrawlId: "",
  pendingCrawlId: "",
};
const IDEMPOTENCY_KEY = "tenant-isolation-shared-key";
const COOKIE_SECRET = "sessionSecretValue9f3a";

type Envelope = { status: string; message: string; error: string };

/** One route of the gateway's route table. */
interface Route {
  method: string;
  path: string;
}

/**
 * Routes from `printRoutes()` (the radix tree: each line one node, four columns per level, a
 * node's path is its ancestors' segments joined), one entry per method, HEAD left out.
 */
function parseRouteTree(tree: string): Route[] {
  const stack: string[] = [];
  const routes: Route[] = [];
  for (const line of tree.split("\n")) {
    const at = line.search(/[├└]── /);
    if (at < 0) continue;
    const depth = at / 4;
    const match = /^(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line.slice(at + 4));
    if (!match) continue;
    stack.length = depth;
    stack.push(match[1]!);
    const path = stack.join("");
    for (const method of (match[2] ?? "").split(",").map((m) => m.trim())) {
      if (method && method !== "HEAD") routes.push({ method, path });
    }
  }
  return routes;
}

/** B's answer must be the contract's 404 (not 403 or 409, which would reveal that the id exists). */
async function expectHidden(res: { status: number; body: unknown }, what: string): Promise<void> {
  expect(res.status, `${what}: ${JSON.stringify(res.body).slice(0, 200)}`).toBe(404);
  const body = res.body as Envelope;
  expect(body.status, what).toBe("error");
  expect(body.error, what).toBe(body.message);
}

beforeAll(async () => {
  site = await startFixtureSite();
  model = await startOpenAIServer();
  model.setDefault({ content: { title: "a page" } });
  stack = await startTestStack({
    env: { OPENAI_BASE_URL: model.baseURL, OPENAI_API_KEY: "test", LLM_MODEL: "test-model", LLM_TIMEOUT_MS: "3000" },
  });
  a = await stack.createKey(10_000);
  b = await stack.createKey(10_000);

  // The gateway as deployed, in its own process, logging at debug level (its output is checked).
  const port = await getFreePort();
  debugOrigin = `http://127.0.0.1:${port}`;
  debugApi = spawnCli(["start", "--role", "api"], { ...stack.env, PORT: String(port), LOG_LEVEL: "trace" });
  // A second in-process gateway for its route table.
  routeApi = await startApi(stack.config);

  const api = stack.api;
  const post = <T>(path: string, body: unknown, headers: Record<string, string> = {}) =>
    call<T>(`${api}${path}`, { key: a.key, body, headers });
  const [scrape, batch, pendingBatch] = await Promise.all([
    post<{ jobId: string }>(
      "/scrape",
      { urls: [{ url: site.url("/news") }], screenshot: true },
      { "idempotency-key": IDEMPOTENCY_KEY },
    ),
    post<{ batchId: string }>(
      "/batch/scrape",
      { urls: [site.url("/product/1"), site.url("/no-such-page")] },
      { "idempotency-key": IDEMPOTENCY_KEY },
    ),
    post<{ batchId: string }>("/batch/scrape", { urls: [site.url("/hang")] }),
  ]);
  expect(scrape.status, JSON.stringify(scrape.body)).toBe(202);
  expect(batch.status, JSON.stringify(batch.body)).toBe(202);
  expect(pendingBatch.status, JSON.stringify(pendingBatch.body)).toBe(202);
  owned.scrapeJobId = scrape.body.jobId;
  owned.batchId = batch.body.batchId;
  owned.pendingBatchId = pendingBatch.body.batchId;
  owned.crawlId = await startCrawl(api, a.key, { baseUrl: site.url("/"), maxPages: 2 });
  owned.pendingCrawlId = await startCrawl(api, a.key, { baseUrl: site.url("/hang"), maxPages: 1 });

  const { final } = await pollScrape(api, a.key, owned.scrapeJobId, 90_000);
  expect(final.status, JSON.stringify(final)).toBe("completed");
  owned.screenshotUrl = final.result!.screenshots[0]!;
  const done: BatchBody = await pollBatch(api, a.key, owned.batchId);
  owned.batchItemJobIds = done.items.map((i) => i.jobId!).filter(Boolean);
  const crawled = await pollCrawl(api, a.key, owned.crawlId);
  expect(crawled.final.status, JSON.stringify(crawled.final)).toBe("completed");
  const pages = await call<{ pages: CrawlPage[] }>(`${api}/crawl/${owned.crawlId}/pages`, { key: a.key });
  owned.pageIds = pages.body.pages.map((p) => p.id);
  expect(owned.pageIds.length).toBeGreaterThan(0);
  const extract = await post<{ jobId: string }>(`/crawl/${owned.crawlId}/extract`, { transformInstruction: "titles" });
  expect(extract.status, JSON.stringify(extract.body)).toBe(202);
  owned.extractCrawlId = extract.body.jobId;
  await pollCrawl(api, a.key, owned.extractCrawlId);

  await waitFor(async () => (await fetch(`${debugOrigin}/health`).catch(() => null))?.ok || undefined, {
    timeoutMs: 30_000,
    message: "the debug-logging gateway to listen",
  });
}, 180_000);

afterAll(async () => {
  // A's long-running work is cancelled so the worker can stop promptly.
  if (stack && a) {
    await call(`${stack.api}/batch/scrape/${owned.pendingBatchId}`, { key: a.key, method: "DELETE" }).catch(() => 0);
    await call(`${stack.api}/crawl/${owned.pendingCrawlId}`, { key: a.key, method: "DELETE" }).catch(() => 0);
  }
  debugApi?.child.kill("SIGTERM");
  await debugApi?.exited;
  await routeApi?.close();
  await stack?.stop();
  await model?.close();
  await site?.close();
});

describe("account B and account A's resources", () => {
  it("answers 404 to B on every route with an id, on both gateways, and covers every route", async () => {
    const routes = parseRouteTree(routeApi.app.printRoutes());
    const prefix = stack.config.apiPrefix;
    const scrapeIds = [owned.scrapeJobId, ...owned.batchItemJobIds];
    const batchIds = [owned.batchId, owned.pendingBatchId];
    const crawlIds = [owned.crawlId, owned.extractCrawlId, owned.pendingCrawlId];
    const asB = (origin: string, path: string, method: string, body?: unknown) =>
      call(`${origin}${prefix}${path}`, { key: b.key, method, ...(body !== undefined ? { body } : {}) });

    /** Per route (`METHOD path` as the route table spells it): the requests B makes. */
    const idRoutes: Record<string, (origin: string) => Promise<void>> = {
      [`GET ${prefix}/scrape/:jobId`]: async (o) => {
        for (const id of scrapeIds) await expectHidden(await asB(o, `/scrape/${id}`, "GET"), `scrape ${id}`);
      },
      [`GET ${prefix}/scrape-logs/:uuid`]: async (o) => {
        for (const id of scrapeIds) await expectHidden(await asB(o, `/scrape-logs/${id}`, "GET"), `log ${id}`);
      },
      [`GET ${prefix}/batch/scrape/:batchId`]: async (o) => {
        for (const id of batchIds) await expectHidden(await asB(o, `/batch/scrape/${id}`, "GET"), `batch ${id}`);
      },
      [`DELETE ${prefix}/batch/scrape/:batchId`]: async (o) => {
        for (const id of batchIds) await expectHidden(await asB(o, `/batch/scrape/${id}`, "DELETE"), `cancel ${id}`);
      },
      [`POST ${prefix}/batch/scrape/:batchId/retry`]: async (o) => {
        for (const id of batchIds) {
          await expectHidden(await asB(o, `/batch/scrape/${id}/retry`, "POST", {}), `retry ${id}`);
        }
      },
      [`GET ${prefix}/crawl/job/:jobId`]: async (o) => {
        for (const id of crawlIds) await expectHidden(await asB(o, `/crawl/job/${id}`, "GET"), `crawl record ${id}`);
      },
      [`GET ${prefix}/crawl/:jobId`]: async (o) => {
        for (const id of crawlIds) await expectHidden(await asB(o, `/crawl/${id}`, "GET"), `crawl ${id}`);
      },
      [`DELETE ${prefix}/crawl/:jobId`]: async (o) => {
        for (const id of crawlIds) await expectHidden(await asB(o, `/crawl/${id}`, "DELETE"), `cancel crawl ${id}`);
      },
      [`GET ${prefix}/crawl/:jobId/pages`]: async (o) => {
        for (const id of crawlIds) await expectHidden(await asB(o, `/crawl/${id}/pages`, "GET"), `pages ${id}`);
      },
      [`POST ${prefix}/crawl/:jobId/extract`]: async (o) => {
        for (const id of crawlIds) {
          const res = await asB(o, `/crawl/${id}/extract`, "POST", { transformInstruction: "steal it" });
          await expectHidden(res, `extract ${id}`);
        }
      },
      [`POST ${prefix}/crawl/:jobId/retry/:pageId`]: async (o) => {
        for (const pageId of owned.pageIds) {
          const res = await asB(o, `/crawl/${owned.crawlId}/retry/${pageId}`, "POST", {});
          await expectHidden(res, `retry page ${pageId}`);
        }
      },
      [`GET ${prefix}/crawl/:jobId/download`]: async (o) => {
        for (const id of crawlIds) await expectHidden(await asB(o, `/crawl/${id}/download`, "GET"), `download ${id}`);
      },
      // Signed files: the HMAC is the credential; an API key (B's or anyone's) opens nothing.
      "GET /files/*": async (o) => {
        const link = new URL(owned.screenshotUrl);
        const res = await call(`${o}${link.pathname}`, { key: b.key });
        expect(res.status, "B's key on A's screenshot without a signature").toBe(403);
        const forged = new URL(onOrigin(o, owned.screenshotUrl));
        forged.pathname = forged.pathname.replace(/\/[^/]+$/, "/other.png");
        expect((await call(forged.toString(), { key: b.key })).status, "A's signature on another file").toBe(403);
      },
    };

    /** Routes without an id: B's lists and totals hold nothing of A, B's submits land in B's account. */
    const aIds = [...scrapeIds, ...batchIds, ...crawlIds];
    const leaks = (body: unknown) => aIds.filter((id) => JSON.stringify(body).includes(id));
    const listRoutes: Record<string, (origin: string) => Promise<void>> = {
      [`GET ${prefix}/batch/scrape`]: async (o) => {
        const res = await asB(o, "/batch/scrape", "GET");
        expect(res.status).toBe(200);
        expect(leaks(res.body)).toEqual([]);
      },
      [`GET ${prefix}/crawl/history`]: async (o) => {
        const res = await asB(o, "/crawl/history?limit=100", "GET");
        expect(res.status).toBe(200);
        expect(leaks(res.body)).toEqual([]);
      },
      [`GET ${prefix}/crawl/stats`]: async (o) => {
        const res = await asB(o, "/crawl/stats", "GET");
        const history = await asB(o, "/crawl/history?limit=100", "GET");
        expect(res.body).toEqual({ total: (history.body as { total: number }).total });
      },
      [`GET ${prefix}/scrape-logs`]: async (o) => {
        const res = await asB(o, "/scrape-logs?limit=100", "GET");
        expect(res.status).toBe(200);
        expect(leaks(res.body)).toEqual([]);
      },
      [`GET ${prefix}/usage-stats`]: (o) => expectNoUsage(o, "/usage-stats?range=7d"),
      [`GET ${prefix}/usage`]: (o) => expectNoUsage(o, "/usage"),
      [`GET ${prefix}/account/usage`]: (o) => expectNoUsage(o, "/account/usage"),
      // The same Idempotency-Key as A's submits gives B its own job, never A's.
      [`POST ${prefix}/scrape`]: async (o) => {
        const res = await call<{ jobId: string }>(`${o}${prefix}/scrape`, {
          key: b.key,
          body: { urls: [{ url: site.url("/") }] },
          headers: { "idempotency-key": IDEMPOTENCY_KEY },
        });
        expect(res.status).toBe(202);
        expect(res.body.jobId).not.toBe(owned.scrapeJobId);
      },
      [`POST ${prefix}/batch/scrape`]: async (o) => {
        const res = await call<{ batchId: string }>(`${o}${prefix}/batch/scrape`, {
          key: b.key,
          body: { urls: [site.url("/")] },
          headers: { "idempotency-key": IDEMPOTENCY_KEY },
        });
        expect(res.status).toBe(202);
        expect(res.body.batchId).not.toBe(owned.batchId);
      },
      [`POST ${prefix}/crawl`]: async (o) => {
        const jobId = await startCrawl(`${o}${prefix}`, b.key, { baseUrl: site.url("/"), maxPages: 1 });
        expect(crawlIds).not.toContain(jobId);
        const mine = await call(`${stack.api}/crawl/${jobId}`, { key: a.key });
        expect(mine.status, "A cannot see B's crawl either").toBe(404);
      },
    };
    async function expectNoUsage(o: string, path: string): Promise<void> {
      const res = await call<{ data: Array<{ requests: number; crawls: number; credits: number }> }>(
        `${o}${prefix}${path}`,
        { key: b.key },
      );
      expect(res.status).toBe(200);
      const aUsage = await call<{ data: Array<{ requests: number }> }>(`${stack.api}${path}`, { key: a.key });
      const sum = (rows: Array<{ requests: number }>) => rows.reduce((n, r) => n + r.requests, 0);
      // B's own submits (made by this test) may show; A's several jobs must not.
      expect(sum(aUsage.body.data)).toBeGreaterThanOrEqual(3);
      expect(sum(res.body.data)).toBeLessThan(sum(aUsage.body.data));
    }

    const outside = new Set(["GET /health", "GET /ready"]);
    const covered = { ...idRoutes, ...listRoutes };
    const apiRoutes = routes.filter((r) => r.path.startsWith(`${prefix}/`) || r.path.startsWith("/files/"));
    const uncovered = apiRoutes.map((r) => `${r.method} ${r.path}`).filter((k) => !(k in covered));
    const withParams = routes
      .filter((r) => /[:*]/.test(r.path) && !r.path.startsWith("/docs"))
      .map((r) => `${r.method} ${r.path}`);
    expect(apiRoutes.length, "the route table was read").toBeGreaterThan(15);
    expect(uncovered, "routes without an isolation check").toEqual([]);
    expect(
      withParams.filter((k) => !(k in idRoutes)),
      "id routes without a 404 check",
    ).toEqual([]);
    expect(
      routes.filter(
        (r) => !apiRoutes.includes(r) && !r.path.startsWith("/docs") && !outside.has(`${r.method} ${r.path}`),
      ),
      "routes outside the API that nobody looked at",
    ).toEqual([]);

    for (const origin of [stack.origin, debugOrigin]) {
      for (const [name, check] of Object.entries(idRoutes)) {
        await check(origin).catch((err: Error) => {
          throw new Error(`${name} via ${origin}: ${err.message}`);
        });
      }
    }
    for (const [name, check] of Object.entries(listRoutes)) {
      await check(debugOrigin).catch((err: Error) => {
        throw new Error(`${name}: ${err.message}`);
      });
    }
    console.log(
      `tenant isolation: ${Object.keys(idRoutes).length} id routes and ${Object.keys(listRoutes).length} list/submit routes checked out of ${apiRoutes.length} in the route table`,
    );
  }, 120_000);

  it("left A's resources exactly as they were", async () => {
    const pending = await call<BatchBody>(`${stack.api}/batch/scrape/${owned.pendingBatchId}`, { key: a.key });
    expect(pending.body.status).not.toBe("cancelled");
    const crawl = await call<{ status: string }>(`${stack.api}/crawl/${owned.pendingCrawlId}`, { key: a.key });
    expect(crawl.body.status).not.toBe("cancelled");
    const batch = await call<BatchBody>(`${stack.api}/batch/scrape/${owned.batchId}`, { key: a.key });
    expect(batch.body.items.every((i) => i.status !== "pending" && i.status !== "running")).toBe(true);
    const history = await call<{ jobs: Array<{ id: string; source_job_id: string | null }> }>(
      `${stack.api}/crawl/history?limit=100`,
      { key: a.key },
    );
    // B's extraction attempts created no crawl in A's history (only A's own extraction).
    expect(history.body.jobs.filter((j) => j.source_job_id === owned.crawlId).map((j) => j.id)).toEqual([
      owned.extractCrawlId,
    ]);
  });
});

describe("keys", () => {
  it("are stored hashed: a dump of the database holds no key", async () => {
    const { stdout } = await run("pg_dump", ["--data-only", stack.config.databaseUrl], {
      maxBuffer: 256 * 1024 * 1024,
    });
    expect(stdout.length).toBeGreaterThan(1000);
    for (const key of [a.key, b.key]) {
      expect(stdout.includes(key)).toBe(false);
      // The part after the cosmetic prefix does not appear either (no encoding trick).
      expect(stdout.includes(key.slice(4))).toBe(false);
    }
    // Cookies at rest: security-audit.test.ts dumps the database after sending them every way.
  });

  it("a revoked key stops working at once, on every gateway (CLI keys revoke)", async () => {
    const c = await stack.createKey(10);
    for (const origin of [stack.origin, debugOrigin]) {
      expect((await call(`${origin}/api/scrape-logs`, { key: c.key })).status).toBe(200);
    }
    const revoked = await runCli(["keys", "revoke", "--key", c.key], stack.env);
    expect(revoked.code, revoked.output).toBe(0);
    expect(revoked.stdout).toContain("key revoked");
    const status = stack.config.limits.invalidKeyStatus;
    for (const origin of [stack.origin, debugOrigin]) {
      const res = await call<Envelope>(`${origin}/api/scrape-logs`, { key: c.key });
      expect(res.status, `contract D2: an unknown or revoked key answers INVALID_KEY_STATUS (${status})`).toBe(status);
      expect(res.body.message).toBe("Invalid token or API key");
      expect((await call(`${origin}/api/scrape-logs`, { bearer: c.key })).status).toBe(status);
    }
  });

  it("never appear in the gateway's debug logs, and neither do cookies", async () => {
    // Requests that carry keys and cookies in every place they can travel.
    await call(`${debugOrigin}/api/scrape`, {
      key: a.key,
      body: {
        urls: [{ url: site.url("/"), cookies: [{ name: "sid", value: COOKIE_SECRET }] }],
        cookies: `s=${COOKIE_SECRET}`,
      },
      headers: { cookie: `sid=${COOKIE_SECRET}` },
    });
    await call(`${debugOrigin}/api/batch/scrape`, {
      bearer: b.key,
      body: { urls: [site.url("/")], cookies: `s=${COOKIE_SECRET}` },
    });
    await call(`${debugOrigin}/api/scrape/not-a-job`, { key: a.key });
    await call(`${debugOrigin}/api/scrape/not-a-job`, { key: "spd_unknown_key_value_123" });
    await call(`${debugOrigin}/api/crawl`, {
      key: b.key,
      body: { baseUrl: "not a url", cookies: `s=${COOKIE_SECRET}` },
    });
    // A signed file link: its signature would let whoever reads the logs fetch the file for an hour.
    const signed = new URL(onOrigin(debugOrigin, owned.screenshotUrl));
    const signature = signed.searchParams.get("signature") ?? "";
    expect(signature.length).toBeGreaterThan(16);
    expect((await fetch(signed)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    const logs = debugApi.output();
    expect(logs, "the gateway logged every request (level trace, finer than debug)").toMatch(
      /"level":30.*incoming request/,
    );
    expect(logs).toContain("/api/scrape");
    expect(logs).toContain(`${signed.pathname}?`);
    for (const secret of [
      a.key,
      b.key,
      a.key.slice(4),
      b.key.slice(4),
      "spd_unknown_key_value_123",
      COOKIE_SECRET,
      signature,
    ]) {
      expect(logs.includes(secret), `a secret in the logs: ${secret.slice(0, 8)}…`).toBe(false);
    }
  });
});
