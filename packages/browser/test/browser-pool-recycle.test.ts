import { startHostileSite, waitFor, type HostileSite } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserPool } from "../src/browser-pool.ts";
import type { Page } from "playwright-core";
import { limitContext, type LimitedContext } from "../src/limit-context.ts";

let site: HostileSite;

beforeAll(async () => {
  site = await startHostileSite();
});
afterAll(async () => {
  await site?.close();
});

async function visit(pool: BrowserPool, path = "/ok") {
  const context = await pool.newContext("t");
  const page = await context.newPage();
  await page.goto(site.url(path));
  return { context, page };
}

describe("BrowserPool recycling", () => {
  it("hands new contexts to a fresh browser every N and closes the old one once its contexts close", async () => {
    const pool = new BrowserPool({ executablePath: "/usr/bin/chromium", recycleAfterContexts: 2 });
    try {
      const a = await visit(pool);
      const first = a.context.browser()!;
      const firstPid = await pool.pid();
      await a.context.close();
      const b = await visit(pool); // the second context: the limit is reached, not passed
      expect(b.context.browser()).toBe(first);
      // The third context goes to a new browser while the second is still open on the old one.
      const c = await visit(pool);
      const second = c.context.browser()!;
      expect(second).not.toBe(first);
      expect(first.isConnected()).toBe(true);
      expect(await b.page.title()).toBe("A calm page");
      expect(pool.stats()).toMatchObject({ launches: 2, recycles: 1, contexts: 3, retiring: 1 });
      const secondPid = await pool.pid();
      expect(secondPid).toBeGreaterThan(0);
      expect(secondPid).not.toBe(firstPid);

      await b.context.close();
      await waitFor(() => !first.isConnected(), { timeoutMs: 10_000, message: "the retired browser to close" });
      expect(pool.stats().retiring).toBe(0);
      expect(second.isConnected()).toBe(true);
      await c.context.close();
    } finally {
      await pool.close();
    }
  });

  it("never recycles with 0", async () => {
    const pool = new BrowserPool({ executablePath: "/usr/bin/chromium", recycleAfterContexts: 0 });
    try {
      for (let i = 0; i < 4; i++) await (await visit(pool)).context.close();
      expect(pool.stats()).toMatchObject({ launches: 1, recycles: 0, contexts: 4 });
    } finally {
      await pool.close();
    }
  });
});

/**
 * A page in a fresh pool's context under a 1000-byte budget whose count the test sets (in the worker
 * it comes from the egress proxy); the pool closes after `fn`.
 */
async function withByteBudget(
  intervalMs: number,
  fn: (t: { page: Page; limits: LimitedContext; receive: (bytes: number) => void }) => Promise<void>,
): Promise<void> {
  const pool = new BrowserPool({ executablePath: "/usr/bin/chromium" });
  try {
    const context = await pool.newContext("t");
    const page = await context.newPage();
    let received = 0;
    const limits = limitContext(context, {
      bytesReceived: () => received,
      maxBytes: 1000,
      deadline: Date.now() + 60_000,
      intervalMs,
    });
    try {
      await fn({ page, limits, receive: (bytes) => (received = bytes) });
    } finally {
      limits.stop();
    }
  } finally {
    await pool.close();
  }
}

describe("limitContext", () => {
  it("closes a context that downloads more than its byte budget", async () => {
    await withByteBudget(20, async ({ page, limits, receive }) => {
      await page.goto(site.url("/ok"));
      expect(limits.exceeded()).toBeNull();
      receive(1001);
      await waitFor(() => limits.exceeded() !== null, { timeoutMs: 10_000 });
      expect(limits.exceeded()).toMatch(/more than 1000 bytes/);
      await waitFor(() => page.isClosed(), { timeoutMs: 10_000, message: "the context to close" });
    });
  });

  it("check() reads the byte count at once, between two polls", async () => {
    // A poll an hour away: only check() can see the count.
    await withByteBudget(3_600_000, async ({ page, limits, receive }) => {
      expect(limits.check()).toBeNull();
      receive(1001);
      expect(limits.exceeded()).toBeNull();
      expect(limits.check()).toMatch(/more than 1000 bytes/);
      await waitFor(() => page.isClosed(), { timeoutMs: 10_000, message: "the context to close" });
    });
  });

  it("closes a context stuck in a spinning script at the deadline", async () => {
    const pool = new BrowserPool({ executablePath: "/usr/bin/chromium" });
    try {
      const context = await pool.newContext("t");
      const page = await context.newPage();
      await page.goto(site.url("/busy-loop-after-load"));
      const limits = limitContext(context, { bytesReceived: () => 0, maxBytes: 1, deadline: Date.now() + 1000 });
      // Without the limit this read would wait forever.
      await expect(page.content()).rejects.toThrow();
      expect(limits.exceeded()).toMatch(/deadline/);
    } finally {
      await pool.close();
    }
  });
});
