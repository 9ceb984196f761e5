import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import { promisify } from "node:util";
import { join } from "node:path";
import { loadConfig } from "@orbweaver/config";
import { startCanary, waitFor, type Canary } from "@orbweaver/testkit";
import { startWorker } from "@orbweaver/worker";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollBatch } from "./helpers/batch.ts";
import { pollCrawl, startCrawl } from "./helpers/crawl.ts";
import { call, pollScrape } from "./helpers/http.ts";
import { startHostileSite, type HostileSite } from "./helpers/security-audit-site.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

let canary: Canary;
let site: HostileSite;
let stack: TestStack;
let key: string;

beforeAll(async () => {
  canary = await startCanary();
  const p = canary.port;
  // The same forbidden loopback canary, spelled every way a URL parser may accept it.
  site = await startHostileSite([
    `http://127.0.0.1:${p}`,
    `http://localhost:${p}`,
    `http://[::ffff:127.0.0.1]:${p}`,
    `http://[::ffff:7f00:1]:${p}`,
    `http://2130706433:${p}`,
    `http://0x7f.1:${p}`,
    `http://127.1:${p}`,
    `http://0177.0.0.1:${p}`,
    `http://127.0.0.1.:${p}`,
    `http://evil.example@127.0.0.1:${p}`,
    `http://foo.localhost:${p}`,
  ]);
  // Private addresses refused; the hostile site's host:port is the one allowed intranet exception.
  stack = await startTestStack({
    env: {
      ALLOW_PRIVATE_NETWORK: "false",
      ALLOW_HOSTS: `127.0.0.1:${site.port}`,
      PAGE_TIMEOUT_MS: "8000",
      MAX_URLS_PER_SCRAPE: "50",
    },
  });
  key = (await stack.createKey(10_000)).key;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await site?.close();
  await canary?.close();
});

describe("SSRF: every way out of a scraped page", () => {
  it("no hostile page reaches the loopback canary, through Chromium or the plain-HTTP path", async () => {
    for (const browser of [true, false]) {
      const urls = site.pages.map((name) => ({
        url: site.url(`/p/${name}`),
        ...(browser ? { actions: [{ type: "wait", duration: 1500 }] } : {}),
      }));
      const submit = await call<{ jobId: string }>(`${stack.api}/scrape`, { key, body: { urls } });
      expect(submit.status, JSON.stringify(submit.body)).toBe(202);
      const { final } = await pollScrape(stack.api, key, submit.body.jobId, 240_000);
      expect(["completed", "failed"]).toContain(final.status);
      // No page read a local file (its text would be in the result).
      expect(JSON.stringify(final)).not.toContain("root:x:0:0");
      // Not vacuous: the hostile pages themselves were loaded.
      if (final.status === "completed") {
        expect(final.result?.data.filter((d) => d.success).length ?? 0).toBeGreaterThan(site.pages.length / 2);
      }
    }
    expect(canary.hits()).toBe(0);
  }, 600_000);
});

describe("SSRF: crawls and webhooks", () => {
  it("a crawl follows no link, redirect or robots.txt sitemap to a forbidden address", async () => {
    const jobId = await startCrawl(stack.api, key, {
      baseUrl: site.url("/crawl/"),
      maxPages: 10,
      crawlEntireDomain: true,
    });
    const { final } = await pollCrawl(stack.api, key, jobId, 120_000);
    expect(["completed", "failed"]).toContain(final.status);
    expect((final.result ?? []).some((p) => p.url === site.url("/crawl/"))).toBe(true);
    expect(canary.hits()).toBe(0);
  }, 180_000);

  it("a webhook receiver that redirects to a forbidden address is not followed there", async () => {
    const jobId = await startCrawl(stack.api, key, {
      baseUrl: site.url("/crawl/next"),
      maxPages: 1,
      webhookUrl: site.url("/hook"),
    });
    const { final } = await pollCrawl(stack.api, key, jobId, 120_000);
    expect(final.status).toBe("completed");
    // Two events (crawl.page, crawl.completed), each tried three times and answered with a redirect.
    await waitFor(() => site.hookHits() >= 6, { timeoutMs: 60_000 });
    // A redirect followed would reach the canary right after its answer.
    await new Promise((r) => setTimeout(r, 500));
    expect(canary.hits()).toBe(0);
  }, 180_000);
});

describe("SSRF: the worker checks again what the gateway let through", () => {
  it("a target and a webhook the gateway allowed are refused by a worker whose policy forbids them", async () => {
    // The gateway's policy admits the canary (as a name resolving to a public address at submit time
    // would be admitted); the worker's does not (the name now resolves to loopback). Every connection
    // the worker makes must be checked at that moment, not trusted from the submit.
    const lenient = await startTestStack({
      worker: false,
      env: {
        ALLOW_PRIVATE_NETWORK: "false",
        ALLOW_HOSTS: `127.0.0.1:${site.port},127.0.0.1:${canary.port}`,
        PAGE_TIMEOUT_MS: "8000",
      },
    });
    const strictWorker = await startWorker(loadConfig({ ...lenient.env, ALLOW_HOSTS: `127.0.0.1:${site.port}` }));
    try {
      const { key: k } = await lenient.createKey(1000);
      const before = canary.hits();
      for (const browser of [false, true]) {
        const submit = await call<{ jobId: string }>(`${lenient.api}/scrape`, {
          key: k,
          body: {
            urls: [{ url: canary.url("/direct"), ...(browser ? { actions: [{ type: "wait", duration: 10 }] } : {}) }],
          },
        });
        expect(submit.status, JSON.stringify(submit.body)).toBe(202);
        const { final } = await pollScrape(lenient.api, k, submit.body.jobId, 60_000);
        expect(final.status).toBe("failed");
        expect(final.error).toContain("Blocked by network policy");
      }
      const crawlOfCanary = await startCrawl(lenient.api, k, { baseUrl: canary.url("/crawl/"), maxPages: 1 });
      expect((await pollCrawl(lenient.api, k, crawlOfCanary, 60_000)).final.status).toBe("failed");
      // A crawl of the allowed site whose webhook points at the canary: delivered nowhere.
      const hooked = await startCrawl(lenient.api, k, {
        baseUrl: site.url("/crawl/next"),
        maxPages: 1,
        webhookUrl: canary.url("/hook"),
      });
      expect((await pollCrawl(lenient.api, k, hooked, 60_000)).final.status).toBe("completed");
      // Each event is tried three times (1 s and 3 s apart) before it is given up.
      await new Promise((r) => setTimeout(r, 6000));
      expect(canary.hits() - before).toBe(0);
    } finally {
      await strictWorker.close();
      await lenient.stop();
    }
  }, 240_000);
});

describe("error messages a client reads", () => {
  it("a browser that cannot start fails the job without Chromium's command line, logs or paths", async () => {
    // A Chromium that dies at launch, printing a path only the server should know.
    const dir = await mkdtemp(join(tmpdir(), "orbweaver-security-audit-"));
    const chromium = join(dir, "broken-chromium");
    await writeFile(chromium, "#!/bin/sh\necho 'crashed reading /srv/internal/secret-path' >&2\nexit 1\n");
    await chmod(chromium, 0o755);
    const broken = await startTestStack({
      env: {
        ALLOW_PRIVATE_NETWORK: "false",
        ALLOW_HOSTS: `127.0.0.1:${site.port}`,
        CHROMIUM_PATH: chromium,
        JOB_ATTEMPTS: "1",
      },
    });
    try {
      const { key: k } = await broken.createKey(1000);
      const submit = await call<{ jobId: string }>(`${broken.api}/scrape`, {
        key: k,
        body: { urls: [{ url: site.url("/p/send-beacon"), actions: [{ type: "wait", duration: 10 }] }] },
      });
      expect(submit.status, JSON.stringify(submit.body)).toBe(202);
      const { final } = await pollScrape(broken.api, k, submit.body.jobId, 60_000);
      expect(final.status).toBe("failed");
      const crawlId = await startCrawl(broken.api, k, {
        baseUrl: site.url("/p/send-beacon"),
        maxPages: 1,
      });
      const crawl = (await pollCrawl(broken.api, k, crawlId, 60_000)).final;
      const logs = await call(`${broken.api}/scrape-logs/${submit.body.jobId}`, { key: k });
      const seen = JSON.stringify([final, crawl, logs.body]);
      expect(final.error).toMatch(/browser/i);
      for (const internal of [
        chromium,
        dir,
        "secret-path",
        "Browser logs",
        "--proxy-server",
        "user-data-dir",
        "<launching>",
      ]) {
        expect(seen, `the client reads "${internal}"`).not.toContain(internal);
      }
    } finally {
      await broken.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

/** Every value under `prefix` in Redis, whatever its type, as one string. */
async function dumpRedis(url: string, prefix: string): Promise<string> {
  const redis = new Redis(url);
  try {
    const out: string[] = [];
    for (const k of await redis.keys(`${prefix}*`)) {
      const type = await redis.type(k);
      const value =
        type === "string"
          ? await redis.getBuffer(k).then((b) => b?.toString("latin1"))
          : type === "hash"
            ? await redis.hgetall(k)
            : type === "list"
              ? await redis.lrange(k, 0, -1)
              : type === "set"
                ? await redis.smembers(k)
                : type === "zset"
                  ? await redis.zrange(k, 0, -1)
                  : type === "stream"
                    ? await redis.xrange(k, "-", "+")
                    : null;
      out.push(k, JSON.stringify(value));
    }
    return out.join("\n");
  } finally {
    redis.disconnect();
  }
}

describe("secrets at rest", () => {
  it("cookies sent every way a request carries them are stored nowhere readable: not in Postgres, not in Redis", async () => {
    const secret = "auditCookieValue7c1e";
    const { key: k } = await stack.createKey(1000);
    const scrapes = [
      // Browser path, with the string and the per-URL objects.
      {
        urls: [
          {
            url: site.url("/p/send-beacon"),
            actions: [{ type: "wait", duration: 10 }],
            cookies: [{ name: "o", value: `${secret}-object` }],
          },
        ],
        cookies: `sid=${secret}-string`,
      },
      // Plain-HTTP path.
      { urls: [{ url: site.url("/p/send-beacon") }], cookies: `sid=${secret}-fast` },
    ];
    for (const body of scrapes) {
      const submit = await call<{ jobId: string }>(`${stack.api}/scrape`, { key: k, body });
      expect(submit.status, JSON.stringify(submit.body)).toBe(202);
      expect((await pollScrape(stack.api, k, submit.body.jobId, 60_000)).final.status).toBe("completed");
    }
    const batch = await call<{ batchId: string }>(`${stack.api}/batch/scrape`, {
      key: k,
      body: { urls: [site.url("/p/send-beacon"), site.url("/missing")], cookies: `sid=${secret}-batch` },
    });
    expect(batch.status, JSON.stringify(batch.body)).toBe(202);
    expect((await pollBatch(stack.api, k, batch.body.batchId)).failedCount).toBe(1);
    const retry = await call(`${stack.api}/batch/scrape/${batch.body.batchId}/retry`, {
      key: k,
      body: { cookies: `sid=${secret}-retry` },
    });
    expect(retry.status, JSON.stringify(retry.body)).toBe(202);
    await pollBatch(stack.api, k, batch.body.batchId);
    for (const cookies of [`sid=${secret}-crawl`, [{ name: "sid", value: `${secret}-crawl-object` }]]) {
      const crawlId = await startCrawl(stack.api, k, { baseUrl: site.url("/crawl/next"), maxPages: 1, cookies });
      expect((await pollCrawl(stack.api, k, crawlId, 60_000)).final.status).toBe("completed");
    }
    const { stdout } = await promisify(execFile)("pg_dump", ["--data-only", stack.config.databaseUrl], {
      maxBuffer: 512 * 1024 * 1024,
    });
    expect(stdout).toContain(site.url("/p/send-beacon"));
    expect(stdout.includes(secret), "a cookie value in Postgres").toBe(false);
    const redis = await dumpRedis(stack.config.redisUrl, stack.config.queuePrefix);
    expect(redis.length).toBeGreaterThan(0);
    expect(redis.includes(secret), "a cookie value in Redis").toBe(false);
    // Nor the API key that sent them, nor the part after its prefix.
    for (const dump of [stdout, redis]) expect(dump.includes(k.slice(4))).toBe(false);
  }, 240_000);
});

describe("tenant isolation inside the worker", () => {
  it("one account's cookies, storage and cache never reach another account's scrape of the same page", async () => {
    const mark = "tenantLeftThis4d2b";
    const a = await stack.createKey(100);
    const b = await stack.createKey(100);
    const scrape = async (k: string, path: string, browser: boolean) => {
      const submit = await call<{ jobId: string }>(`${stack.api}/scrape`, {
        key: k,
        body: { urls: [{ url: site.url(path), ...(browser ? { actions: [{ type: "wait", duration: 50 }] } : {}) }] },
      });
      expect(submit.status, JSON.stringify(submit.body)).toBe(202);
      const { final } = await pollScrape(stack.api, k, submit.body.jobId, 60_000);
      expect(final.status).toBe("completed");
      return JSON.stringify(final.result);
    };
    for (const browser of [true, false]) {
      // A leaves a cookie (server and script), local and session storage, and a cacheable page.
      expect(await scrape(a.key, `/echo?set=${mark}`, browser)).toContain("cookie header");
      // A's next page on the same site, in another job, starts clean too (each job is a fresh jar).
      expect(await scrape(a.key, "/echo", browser)).not.toContain(mark);
      // B reads the same page several times (a pool of contexts would hand B one of A's).
      for (let i = 0; i < 3; i++) {
        const seen = await scrape(b.key, "/echo", browser);
        expect(seen).toContain("cookie header");
        expect(seen, "B sees what A left").not.toContain(mark);
      }
    }
  }, 240_000);
});
