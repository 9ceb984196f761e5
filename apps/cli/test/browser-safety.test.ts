import { startCanary, startFixtureSite, waitFor, type Canary, type FixtureSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, pollScrape } from "./helpers/http.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

let site: FixtureSite;
let canary: Canary;
let stack: TestStack;
let key: string;

beforeAll(async () => {
  site = await startFixtureSite();
  canary = await startCanary();
  // Private addresses refused; only the fixture site is an allowed intranet host, the canary is not.
  stack = await startTestStack({
    env: { ALLOW_PRIVATE_NETWORK: "false", ALLOW_HOSTS: `127.0.0.1:${site.port}`, PAGE_TIMEOUT_MS: "8000" },
  });
  key = (await stack.createKey(1000)).key;
});
afterAll(async () => {
  await stack?.stop();
  await site?.close();
  await canary?.close();
});

/** `browser` forces Chromium (an action), where a static page would otherwise be fetched over HTTP. */
async function scrape(path: string, browser = false) {
  const url = { url: site.url(path), ...(browser ? { actions: [{ type: "wait", duration: 10 }] } : {}) };
  const submit = await call<{ jobId: string }>(`${stack.api}/scrape`, { key, body: { urls: [url] } });
  expect(submit.status).toBe(202);
  return (await pollScrape(stack.api, key, submit.body.jobId, 60_000)).final;
}

describe("SSRF guard inside the browser", () => {
  it.each(["301", "302", "307"])("refuses a %s redirect to a private address and reports it", async (status) => {
    for (const browser of [false, true]) {
      const final = await scrape(`/redirect?status=${status}&to=${encodeURIComponent(canary.url("/secret"))}`, browser);
      expect(final.status).toBe("failed");
      expect(final.error).toContain("Blocked by network policy");
    }
    expect(canary.hits()).toBe(0);
  });

  it("refuses meta-refresh and script redirects and subresources, keeping the page itself", async () => {
    const to = encodeURIComponent(canary.url("/secret"));
    for (const path of [`/meta-redirect?to=${to}`, `/js-redirect?to=${to}`, `/subresource?to=${to}`]) {
      for (const browser of [false, true]) {
        const final = await scrape(path, browser);
        expect(["completed", "failed"]).toContain(final.status);
      }
    }
    expect(canary.hits()).toBe(0);
  });
});

describe("browser crashes", () => {
  it("relaunches Chromium after it is killed between jobs", async () => {
    const first = await scrape("/", true);
    expect(first.status, JSON.stringify(first)).toBe("completed");
    const pool = stack.workers[0]!.pool;
    const pid = await pool.pid();
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, "SIGKILL");
    await waitFor(async () => (await pool.pid()) === undefined, { timeoutMs: 5000 });
    const final = await scrape("/product/2", true);
    expect(final.status).toBe("completed");
    const relaunched = await waitFor(() => pool.pid(), { timeoutMs: 5000 }).catch(() => undefined);
    expect(relaunched).toBeGreaterThan(0);
    expect(relaunched).not.toBe(pid);
  });

  it("retries a job whose Chromium died mid-page and completes it", async () => {
    const submit = await call<{ jobId: string }>(`${stack.api}/scrape`, {
      key,
      body: { urls: [{ url: site.url("/slow?ms=3000"), actions: [{ type: "wait", duration: 10 }] }] },
    });
    const pool = stack.workers[0]!.pool;
    await waitFor(
      async () =>
        (await stack.pool.query("select status from jobs where id = $1", [submit.body.jobId])).rows[0]?.status ===
        "active",
      { timeoutMs: 20_000 },
    );
    process.kill(await waitFor(() => pool.pid(), { timeoutMs: 5000 }), "SIGKILL");
    const { final, seen } = await pollScrape(stack.api, key, submit.body.jobId, 60_000);
    expect(final.status, JSON.stringify(final)).toBe("completed");
    expect(seen).toContain("completed");
    const row = (await stack.pool.query("select attempts from jobs where id = $1", [submit.body.jobId])).rows[0];
    expect(row.attempts).toBe(2);
  });
});
