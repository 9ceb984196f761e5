// One forEach item in each mode: inline (read it), navigate (open its link in a new page),
// click (click it, capture what appeared, close it again).
import { errors, type Locator, type Page } from "playwright-core";
import { ActionError, explainError } from "./action-error.ts";
import {
  budgetMs,
  DEFAULT_NAVIGATION_TIMEOUT_MS,
  remainingMs,
  type BrowserActionInput,
  type ForEachItem,
  type ForEachResult,
  type RunScope,
} from "./action-types.ts";
import { evaluateInPage, evaluateOnElement } from "./evaluate-script.ts";
import type { ForEachOptions } from "./for-each-options.ts";
import {
  captureInline,
  capturePageContent,
  captureRevealed,
  capturedStillShown,
  clickTargetOf,
  findCloseControl,
  linkOf,
  markVisible,
  pathOf,
  type Captured,
} from "./item-scripts.ts";
import { guardPage, takePopups, watchNavigation, watchQuiet } from "./watch-page.ts";
import { isWebUrl } from "../web-url.ts";

/** Runs a nested action list; returns a nested forEach's result, throws ActionError. */
export type NestedRunner = (scope: RunScope, actions: BrowserActionInput[]) => Promise<ForEachResult | undefined>;

export interface ItemEnv {
  scope: RunScope;
  opts: ForEachOptions;
  /** Path of the forEach action, e.g. "3". */
  path: string;
  runNested: NestedRunner;
}

/** Time to wait for a pop-up to close after Escape or its close button. */
const CLOSE_SETTLE_MS = 800;
const CLOSE_CLICK_MS = 2000;

function budgets(env: ItemEnv): { action: number; nav: number; settle: number } {
  const { ctx } = env.scope;
  return {
    action: budgetMs(ctx, ctx.actionTimeoutMs),
    nav: budgetMs(ctx, ctx.navigationTimeoutMs ?? DEFAULT_NAVIGATION_TIMEOUT_MS),
    // Our own waits: 0 is a valid "no time left".
    settle: Math.max(0, Math.min(env.opts.waitAfterClickMs, remainingMs(ctx))),
  };
}

/**
 * Nested actions for one item; a failure becomes the item's error instead of ending the run.
 * `within`: the item (inline mode), where their targets are looked for first.
 */
async function runItemActions(
  env: ItemEnv,
  page: Page,
  index: number,
  within?: Locator,
): Promise<{ nested?: ForEachResult; error?: string }> {
  if (env.opts.actions.length === 0) return {};
  const { within: _outer, ...outer } = env.scope;
  const scope: RunScope = {
    ...outer,
    page,
    prefix: `${env.path}.`,
    depth: env.scope.depth + 1,
    ...(within ? { within } : {}),
  };
  try {
    const nested = await env.runNested(scope, env.opts.actions);
    return nested ? { nested } : {};
  } catch (err) {
    if (err instanceof ActionError) return { error: `item ${index}: ${err.message}` };
    throw err;
  }
}

function toItem(index: number, url: string, cap: Captured | null, nested?: ForEachResult, error?: string): ForEachItem {
  // A nested forEach's items are this item's content (e.g. every product of a category page).
  const html = nested ? nested.items.map((i) => i.html).join("\n") : (cap?.html ?? "");
  const text = nested ? nested.items.map((i) => i.text).join("\n\n") : (cap?.text ?? "");
  return { index, html, text, url, ...(error ? { error } : {}) };
}

export async function captureInlineItem(env: ItemEnv, item: Locator, index: number): Promise<ForEachItem> {
  const page = env.scope.page;
  const { nested, error } = await runItemActions(env, page, index, item);
  const cap = nested ? null : await evaluateOnElement(item, captureInline, pick(env), budgets(env).action);
  return toItem(index, page.url(), cap, nested, error);
}

const pick = (env: ItemEnv): { captureSelector?: string } =>
  env.opts.captureSelector ? { captureSelector: env.opts.captureSelector } : {};

export async function captureNavigateItem(env: ItemEnv, item: Locator, index: number): Promise<ForEachItem> {
  const page = env.scope.page;
  const t = budgets(env);
  const href = await evaluateOnElement(item, linkOf, undefined, t.action);
  if (!href) return toItem(index, page.url(), null, undefined, "the element has no link to follow");
  // Read by a script the page can subvert: only a web address is opened (see isWebUrl).
  if (!isWebUrl(href))
    return toItem(index, page.url(), null, undefined, "the element's link is not an http(s) address");
  const detail = await page.context().newPage();
  const unguard = guardPage(detail);
  try {
    const quiet = await watchQuiet(detail);
    let error: string | undefined;
    try {
      const res = await detail.goto(href, { waitUntil: "load", timeout: t.nav, referer: page.url() });
      if (res && res.status() >= 400) error = `HTTP ${res.status()} from ${href}`;
    } catch (err) {
      if (!(err instanceof errors.TimeoutError)) {
        quiet.stop();
        return toItem(index, href, null, undefined, `could not open ${href}: ${explainError(err)}`);
      }
      error = `${href} did not finish loading within ${t.nav} ms`; // capture what did load
    }
    await quiet.wait(t.settle);
    const ran = await runItemActions(env, detail, index);
    const cap = ran.nested ? null : await evaluateInPage(detail, capturePageContent, pick(env));
    if (cap && env.opts.captureSelector && !cap.matched)
      env.scope.log.push(
        `  item ${index}: captureSelector "${env.opts.captureSelector}" not on ${detail.url()}; captured <body>`,
      );
    return toItem(index, detail.url(), cap, ran.nested, error ?? ran.error);
  } finally {
    unguard();
    await detail.close().catch(() => undefined);
  }
}

export async function captureClickItem(env: ItemEnv, item: Locator, index: number): Promise<ForEachItem> {
  const page = env.scope.page;
  const listUrl = page.url();
  const t = budgets(env);
  const itemPath = await evaluateOnElement(item, pathOf, undefined, t.action);
  const inner = await evaluateOnElement(item, clickTargetOf, undefined, t.action);
  await evaluateInPage(page, markVisible, undefined);
  const quiet = await watchQuiet(page);
  const nav = watchNavigation(page);
  const popups = takePopups(page);
  try {
    await (inner ? item.locator(inner) : item).click({ timeout: t.action });
  } catch (err) {
    quiet.stop();
    nav.stop();
    popups.stop(); // closes any tab the click opened anyway
    return toItem(index, listUrl, null, undefined, `click failed: ${explainError(err, t.action)}`);
  }
  const navigated = await nav.settle(t.nav);
  // A link with target=_blank opens a tab: that tab's page is the item (checked again after the wait).
  let tab = navigated ? undefined : popups.first();
  if (tab) quiet.stop();
  else {
    const started = Date.now();
    if (env.opts.captureSelector && !navigated) {
      // Return as soon as the pop-up is there; the quiet wait below lets its content fill in.
      await page
        .locator(env.opts.captureSelector)
        .visible()
        .first()
        .waitFor({ state: "visible", timeout: Math.max(1, t.settle) })
        .catch(() => undefined);
    }
    await quiet.wait(Math.max(0, t.settle - (Date.now() - started)));
    tab = navigated ? undefined : popups.first();
  }
  popups.stop(tab); // a tab opened beside a navigation (a pop-under) is closed
  if (tab) return captureTab(env, tab, index);
  const ran = await runItemActions(env, page, index);
  let cap: Captured | null = null;
  if (!ran.nested) {
    // A new document means a detail page; a URL changed by pushState (routed modal) does not.
    cap = navigated
      ? await evaluateInPage(page, capturePageContent, pick(env))
      : await evaluateInPage(page, captureRevealed, { ...pick(env), itemPath });
  }
  const missing =
    !cap && !ran.nested ? `nothing matching "${env.opts.captureSelector}" appeared after the click` : undefined;
  const result = toItem(index, page.url(), cap, ran.nested, ran.error ?? missing);
  // History first: it also closes routed modals and keeps the listing's scroll/pagination state.
  if (page.url() !== listUrl) await returnTo(page, listUrl, t.nav);
  else if (cap?.overlay) await closeOverlay(env, index);
  return result;
}

/** A click opened a new tab (target=_blank): its page is the item, as in navigate mode; then it is closed. */
async function captureTab(env: ItemEnv, tab: Page, index: number): Promise<ForEachItem> {
  const t = budgets(env);
  const unguard = guardPage(tab);
  try {
    const quiet = await watchQuiet(tab);
    let error: string | undefined;
    try {
      await tab.waitForLoadState("load", { timeout: t.nav });
    } catch {
      error = `the tab the click opened (${tab.url()}) did not finish loading within ${t.nav} ms`;
    }
    await quiet.wait(t.settle);
    const ran = await runItemActions(env, tab, index);
    const cap = ran.nested ? null : await evaluateInPage(tab, capturePageContent, pick(env));
    return toItem(index, tab.url(), cap, ran.nested, error ?? ran.error);
  } finally {
    unguard();
    await tab.close().catch(() => undefined);
  }
}

/** Back to the listing after a click navigated away (history first, the URL as fallback). */
async function returnTo(page: Page, listUrl: string, timeoutMs: number): Promise<void> {
  const quiet = await watchQuiet(page);
  await page.goBack({ waitUntil: "load", timeout: timeoutMs }).catch(() => null);
  if (page.url() !== listUrl && isWebUrl(listUrl)) await page.goto(listUrl, { waitUntil: "load", timeout: timeoutMs });
  await quiet.wait(CLOSE_SETTLE_MS);
}

/** Escape first (the standard), then a close/dismiss control; a stuck pop-up is logged, not fatal. */
async function closeOverlay(env: ItemEnv, index: number): Promise<void> {
  const page = env.scope.page;
  const settle = async (): Promise<boolean> => {
    await (await watchQuiet(page)).wait(CLOSE_SETTLE_MS, 200);
    return !(await evaluateInPage(page, capturedStillShown, undefined));
  };
  await page.keyboard.press("Escape");
  if (await settle()) return;
  const close = await evaluateInPage(page, findCloseControl, undefined);
  if (close) {
    await page
      .locator(close)
      .click({ timeout: CLOSE_CLICK_MS })
      .catch(() => undefined);
    if (await settle()) return;
  }
  env.scope.log.push(`  item ${index}: the pop-up did not close (Escape and close button tried)`);
  env.scope.ctx.log?.warn({ item: index }, "forEach: pop-up did not close");
}
