import { startHostileSite, waitFor, type HostileSite } from "@orbweaver/testkit";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrowserPool, type BrowserPoolOptions } from "../src/browser-pool.ts";
import { startEgressProxy, type EgressProxy } from "../src/net/egress-proxy.ts";
import { capturePage, guardContext, openPage } from "../src/open-page.ts";
import { TIMERS_KEY } from "../src/watch-timers.ts";

// Warm spares: a context made ahead (with a blank page whose timers are watched) is handed out by
// the next newContext, with its egress port retagged to the caller's tag.

let site: HostileSite;
let egress: EgressProxy;

beforeAll(async () => {
  site = await startHostileSite();
  egress = await startEgressProxy({ policy: { allowPrivateNetwork: true, allowHosts: [] } });
});
afterAll(async () => {
  await site?.close();
  await egress?.close();
});

async function load(context: BrowserContext, path: string) {
  guardContext(context);
  return openPage(context, { url: site.url(path), timeoutMs: 10_000, settleMs: 500 });
}

/** Waits until the pool has a spare ready (made after the last context closed). */
async function spareReady(pool: BrowserPool): Promise<void> {
  const browser = await pool.getBrowser();
  // The spare's context is one more context of the browser, with its one blank page.
  await waitFor(() => browser.contexts().some((c) => c.pages().length === 1 && c.pages()[0]!.url() === "about:blank"), {
    timeoutMs: 10_000,
    message: "the warm spare",
  });
}

/** A pool on the test's egress proxy (with `opts`), closed after `fn`. */
async function withPool(opts: Partial<BrowserPoolOptions>, fn: (pool: BrowserPool) => Promise<void>): Promise<void> {
  const pool = new BrowserPool({ executablePath: "/usr/bin/chromium", egress, ...opts });
  try {
    await fn(pool);
  } finally {
    await pool.close();
  }
}

describe("BrowserPool warm contexts", () => {
  it("hands out the spare made when a context closed: its ready page is the one openPage uses, timers watched", async () => {
    await withPool({}, async (pool) => {
      const first = await pool.newContext("job-a");
      await load(first, "/ok");
      expect(pool.stats().warmServed).toBe(0);
      await first.close();
      await spareReady(pool);

      const second = await pool.newContext("job-b");
      expect(pool.stats()).toMatchObject({ contexts: 2, warmServed: 1 });
      const ready = second.pages();
      expect(ready).toHaveLength(1);
      const { page } = await load(second, "/ok");
      // openPage took the ready page instead of opening another.
      expect(page).toBe(ready[0]);
      expect(second.pages()).toHaveLength(1);
      expect(await page.title()).toBe("A calm page");
      expect(await page.evaluate((key) => key in window, TIMERS_KEY)).toBe(true);
      // The spare's port was retagged: the load counts for the caller's tag, nothing for the placeholder.
      expect(egress.bytes("job-b").received).toBeGreaterThan(0);
      expect(egress.bytes("warm")).toEqual({ sent: 0, received: 0 });
      expect(pool.stats().openContexts).toBe(1);
      await second.close();
      expect(pool.stats().openContexts).toBe(0);
    });
  });

  it("a warm page keeps the guards: dialogs are dismissed and pop-ups closed", async () => {
    await withPool({}, async (pool) => {
      await (await pool.newContext("job-c")).close();
      await spareReady(pool);
      const context = await pool.newContext("job-d");
      expect(pool.stats().warmServed).toBe(1);
      const { page } = await load(context, "/dialogs");
      expect((await capturePage(page)).html).toContain("Text written after the dialogs.");
      const popups = await load(context, "/popups");
      await waitFor(() => context.pages().length === 2, { timeoutMs: 5000, message: "pop-ups closed" });
      expect(popups.page.isClosed()).toBe(false);
      await context.close();
    });
  });

  it("openPage opens only http(s) addresses, refusing before any navigation and leaving the warm page unused", async () => {
    await withPool({}, async (pool) => {
      await (await pool.newContext("job-e")).close();
      await spareReady(pool);
      const context = await pool.newContext("job-f");
      guardContext(context);
      for (const url of [
        "file:///etc/hostname",
        "view-source:file:///etc/passwd",
        "chrome://version",
        "javascript:1",
      ]) {
        await expect(openPage(context, { url, timeoutMs: 5000 }), url).rejects.toThrow(
          /only http\(s\) addresses are opened/,
        );
      }
      expect(context.pages().map((p) => p.url())).toEqual(["about:blank"]);
      const { page } = await load(context, "/ok");
      expect(page.url()).toBe(site.url("/ok"));
      expect(context.pages()).toHaveLength(1);
      await context.close();
    });
  });

  it("never hands out a spare of a crashed or retired browser", async () => {
    await withPool({ recycleAfterContexts: 1 }, async (pool) => {
      await (await pool.newContext("job-e")).close();
      await spareReady(pool);
      const crashed = await pool.getBrowser();
      process.kill((await pool.pid())!, "SIGKILL");
      await waitFor(() => !crashed.isConnected(), { timeoutMs: 10_000, message: "the browser to go" });
      const afterCrash = await pool.newContext("job-f");
      expect(afterCrash.browser()).not.toBe(crashed);
      expect(pool.stats()).toMatchObject({ launches: 2, warmServed: 0 });
      expect((await load(afterCrash, "/ok")).loaded).toBe(true);
      await afterCrash.close();
      await spareReady(pool);
      // This browser has served its one context: the next newContext retires it, its spare is
      // dropped, and the context comes from a fresh browser.
      const retired = await pool.getBrowser();
      const fresh = await pool.newContext("job-g");
      expect(fresh.browser()).not.toBe(retired);
      expect(pool.stats()).toMatchObject({ launches: 3, recycles: 1, warmServed: 0 });
      await waitFor(() => !retired.isConnected(), { timeoutMs: 10_000, message: "the retired browser to close" });
      expect((await load(fresh, "/ok")).loaded).toBe(true);
      await fresh.close();
    });
  });

  it("makes no spare with warmContexts 0", async () => {
    await withPool({ warmContexts: 0 }, async (pool) => {
      for (let i = 0; i < 3; i++) {
        const context = await pool.newContext(`job-h${i}`);
        await load(context, "/ok");
        await context.close();
      }
      expect((await pool.getBrowser()).contexts()).toHaveLength(0);
      expect(pool.stats()).toMatchObject({ contexts: 3, warmServed: 0 });
    });
  });
});
