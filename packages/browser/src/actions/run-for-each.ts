import type { Locator, Page } from "playwright-core";
import { explainError, ResolveError } from "./action-error.ts";
import {
  budgetMs,
  DEFAULT_NAVIGATION_TIMEOUT_MS,
  remainingMs,
  type BrowserActionInput,
  type ForEachItem,
  type ForEachResult,
  type ForEachStop,
  type RunScope,
} from "./action-types.ts";
import {
  captureClickItem,
  captureInlineItem,
  captureNavigateItem,
  type ItemEnv,
  type NestedRunner,
} from "./capture-item.ts";
import { evaluateOnAll, evaluateOnElement } from "./evaluate-script.ts";
import { readForEachOptions, type ForEachOptions } from "./for-each-options.ts";
import { isDisabledControl, memberKeys } from "./item-scripts.ts";
import { countMatches, resolveGroup, type ResolvedGroup } from "./resolve-group.ts";
import { resolveTarget } from "./resolve-target.ts";
import { looksLikeSelector, toPlaywrightSelector } from "./selector-syntax.ts";
import { watchNavigation, watchQuiet } from "./watch-page.ts";

export type { NestedRunner } from "./capture-item.ts";

const CAPTURE = { inline: captureInlineItem, navigate: captureNavigateItem, click: captureClickItem } as const;

/**
 * forEach (§6): finds the elements, processes each in its mode, follows pagination. Items that
 * fail carry `error` and the loop goes on; only an unresolvable element group (or a closed page)
 * fails the action. The loop ends at maxItems (across pages), when a page has no more elements,
 * when there is no usable next control, after maxPages additional pages, when "next" changes
 * nothing, or at the run deadline (keeping what was collected).
 */
export async function runForEach(
  scope: RunScope,
  action: BrowserActionInput,
  path: string,
  runNested: NestedRunner,
): Promise<ForEachResult> {
  const opts = readForEachOptions(action);
  const { page, ctx } = scope;
  const env: ItemEnv = { scope, opts, path, runNested };
  const query = {
    ...(opts.description ? { description: opts.description } : {}),
    ...(opts.selector ? { selector: opts.selector } : {}),
    mode: opts.mode,
    timeoutMs: budgetMs(ctx, ctx.actionTimeoutMs),
    ...(ctx.chooseElement ? { chooseElement: ctx.chooseElement } : {}),
    chooserTimeoutMs: budgetMs(ctx, ctx.actionTimeoutMs * 3),
  };
  let group: ResolvedGroup = await resolveGroup(page, query);
  scope.log.push(`#${path} forEach ${opts.mode}: ${group.how}`);
  const items: ForEachItem[] = [];
  const visited = new Set([page.url()]);
  let pagesVisited = 1;
  let startAt = 0;
  let stoppedBy: ForEachStop;
  for (;;) {
    const list = groupLocator(page, group, opts);
    const count = await list.count();
    for (let i = startAt; i < count && items.length < opts.maxItems && remainingMs(ctx) > 0; i++) {
      const started = Date.now();
      const item = await captureSafely(env, list.nth(i), items.length);
      items.push(item);
      const size = `${(item.html.length / 1024).toFixed(1)} KB`;
      scope.log.push(
        `  item ${item.index} (${item.url}): ${item.error ? `error: ${item.error}` : size} in ${Date.now() - started} ms`,
      );
    }
    if (items.length >= opts.maxItems) stoppedBy = "maxItems";
    else if (remainingMs(ctx) <= 0) stoppedBy = "deadline";
    else if (!opts.pagination) stoppedBy = "noMoreElements";
    else if (pagesVisited - 1 >= opts.pagination.maxPages) stoppedBy = "maxPages";
    else {
      const before = { url: page.url(), count, keys: await keysOf(list) };
      const moved = await clickNext(scope, opts);
      if (!moved) {
        stoppedBy = "noNextControl";
        break;
      }
      const url = page.url();
      if (url !== before.url && visited.has(url)) {
        stoppedBy = "noProgress"; // "next" led back to a page already done
        break;
      }
      visited.add(url);
      const regrouped = await regroup(page, group, query);
      if (!regrouped) {
        stoppedBy = "noMoreElements";
        break;
      }
      group = regrouped;
      const keys = await keysOf(groupLocator(page, group, opts));
      const same = keys.length === before.keys.length && keys.every((k, i) => k === before.keys[i]);
      if (same && url === before.url) {
        stoppedBy = "noProgress"; // the same elements on the same page: "next" changed nothing
        break;
      }
      // The same elements and more after them: "load more" appended (whatever it did to the URL).
      const extended = keys.length > before.keys.length && before.keys.every((k, i) => k === keys[i]);
      startAt = extended ? before.count : 0;
      pagesVisited++;
      scope.log.push(`#${path} forEach page ${pagesVisited}: ${url}`);
      continue;
    }
    break;
  }
  scope.log.push(`#${path} forEach done: ${items.length} items, ${pagesVisited} page(s), stopped by ${stoppedBy}`);
  return { items, pagesVisited, ...(opts.itemPrompt ? { itemPrompt: opts.itemPrompt } : {}), stoppedBy };
}

function groupLocator(page: Page, group: ResolvedGroup, opts: ForEachOptions): Locator {
  const all = page.locator(group.selector);
  // Only what is on screen can be clicked; inline/navigate may read hidden members too.
  return opts.mode === "click" ? all.visible() : all;
}

async function captureSafely(env: ItemEnv, item: Locator, index: number): Promise<ForEachItem> {
  try {
    return await CAPTURE[env.opts.mode](env, item, index);
  } catch (err) {
    if (env.scope.page.isClosed()) throw err;
    return { index, html: "", text: "", url: env.scope.page.url(), error: explainError(err) };
  }
}

async function keysOf(list: Locator): Promise<string[]> {
  return evaluateOnAll(list, memberKeys, undefined).catch(() => []);
}

/** Same selector if it still matches on the new page, else the description again. */
async function regroup(
  page: Page,
  group: ResolvedGroup,
  query: Parameters<typeof resolveGroup>[1],
): Promise<ResolvedGroup | null> {
  if ((await countMatches(page, group.selector)) > 0) return group;
  if (!query.description) return null;
  try {
    return await resolveGroup(page, { ...query, selector: undefined });
  } catch (err) {
    if (err instanceof ResolveError) return null;
    throw err;
  }
}

/** Clicks the next-page control; false when there is none (or it is disabled). */
async function clickNext(scope: RunScope, opts: ForEachOptions): Promise<boolean> {
  const { page, ctx } = scope;
  const next = opts.pagination?.next ?? "";
  const timeoutMs = budgetMs(ctx, ctx.actionTimeoutMs);
  let control: Locator;
  try {
    if (looksLikeSelector(next)) {
      // The page has settled; a selector that matches nothing now means "last page".
      // Pages often repeat "Next" (top and bottom, or a hidden mobile copy): take a visible one.
      if ((await countMatches(page, toPlaywrightSelector(next))) === 0) return false;
      const visible = page.locator(toPlaywrightSelector(next)).visible();
      if ((await visible.count()) === 0) return false;
      control = visible.first();
    } else {
      // settleMs 0: the listing has settled, so a missing "Next" means the last page.
      const base = {
        timeoutMs,
        settleMs: 0,
        preferRoles: ["link", "button"],
        chooserTimeoutMs: budgetMs(ctx, timeoutMs * 3),
      };
      const resolveOpts = ctx.chooseElement ? { ...base, chooseElement: ctx.chooseElement } : base;
      control = (await resolveTarget(page, { value: next }, resolveOpts)).locator;
    }
    if (await evaluateOnElement(control, isDisabledControl, undefined, timeoutMs)) return false;
  } catch (err) {
    if (!(err instanceof ResolveError)) throw err;
    scope.log.push(`  pagination: ${err.message}`);
    return false;
  }
  const quiet = await watchQuiet(page);
  const nav = watchNavigation(page);
  try {
    await control.click({ timeout: timeoutMs });
  } catch (err) {
    quiet.stop();
    nav.stop();
    scope.log.push(`  pagination: clicking "${next}" failed: ${explainError(err, timeoutMs)}`);
    return false;
  }
  await nav.settle(budgetMs(ctx, ctx.navigationTimeoutMs ?? DEFAULT_NAVIGATION_TIMEOUT_MS));
  await quiet.wait(Math.min(opts.waitAfterClickMs, Math.max(0, remainingMs(ctx))));
  return true;
}
