// Shared setup for browser-action tests: one Chromium and one fixture site per test file.
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { startFixtureSite, type FixtureSite } from "@orbweaver/testkit";
import type { ActionContext } from "../../src/actions/index.ts";
import { BASE_CHROMIUM_ARGS } from "../../src/chromium-args.ts";

export interface ActionEnv {
  site: FixtureSite;
  browser: Browser;
  /** Opens `path` on the fixture site in a fresh context (closed by `closeAll`). */
  open(path: string): Promise<Page>;
  closeAll(): Promise<void>;
}

export async function startActionEnv(): Promise<ActionEnv> {
  const site = await startFixtureSite();
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: BASE_CHROMIUM_ARGS,
  });
  const contexts: BrowserContext[] = [];
  return {
    site,
    browser,
    async open(path) {
      const context = await browser.newContext({ acceptDownloads: false });
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(site.url(path), { waitUntil: "load" });
      return page;
    },
    async closeAll() {
      await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => undefined)));
    },
  };
}

export async function stopActionEnv(env: ActionEnv | undefined): Promise<void> {
  await env?.closeAll();
  await env?.browser.close();
  await env?.site.close();
}

/** Short timeouts keep failing cases fast. */
export const ctx = (extra: Partial<ActionContext> = {}): ActionContext => ({ actionTimeoutMs: 5000, ...extra });
