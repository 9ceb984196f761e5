import type { Page } from "playwright-core";
import { ActionError, explainError } from "./action-error.ts";
import {
  budgetMs,
  DEFAULT_ACTION_TIMEOUT_MS,
  remainingMs,
  type ActionContext,
  type ActionRunResult,
  type BrowserActionInput,
  type ForEachResult,
  type RunScope,
} from "./action-types.ts";
import { performAction } from "./perform-action.ts";
import { runForEach } from "./run-for-each.ts";
import { guardPage } from "./watch-page.ts";

/** The action log is for humans; a runaway forEach must not make it unbounded. */
const MAX_LOG_LINES = 500;

/**
 * Runs browser actions (§6) in order on `page`, which must already be loaded.
 *
 * - The first failing action aborts the run with an {@link ActionError} (`index`, `type`, message
 *   such as `Action 2 (click): no element matches "Accept cookies button"`, and the log so far);
 *   the caller reports the URL as failed with that message. Inside forEach, a failing nested
 *   action only marks its item (`error`) and the loop continues.
 * - Navigations caused by an action are waited for (load) before the next one; dialogs are
 *   dismissed, pop-ups closed and downloads cancelled while the actions run.
 * - `ctx.deadline` shortens waits; once it has passed, the next action fails, and a running
 *   forEach stops early and keeps its items (`stoppedBy: "deadline"`).
 * - Several top-level forEach actions: their items are concatenated (indices continue),
 *   `pagesVisited` is summed and the first `itemPrompt` wins. A forEach nested in forEach.actions
 *   becomes the content of its parent item.
 */
export async function runActions(
  page: Page,
  actions: readonly BrowserActionInput[],
  ctx: ActionContext,
): Promise<ActionRunResult> {
  const scope: RunScope = {
    page,
    ctx: { ...ctx, actionTimeoutMs: ctx.actionTimeoutMs > 0 ? ctx.actionTimeoutMs : DEFAULT_ACTION_TIMEOUT_MS },
    prefix: "",
    log: [],
    depth: 0,
  };
  const unguard = guardPage(page);
  try {
    const forEach = await runActionList(scope, actions);
    return forEach ? { forEach, log: capLog(scope.log) } : { log: capLog(scope.log) };
  } catch (err) {
    if (err instanceof ActionError) err.log = capLog(scope.log);
    throw err;
  } finally {
    unguard();
  }
}

function capLog(log: string[]): string[] {
  if (log.length <= MAX_LOG_LINES) return [...log];
  return [...log.slice(0, MAX_LOG_LINES - 1), `… ${log.length - MAX_LOG_LINES + 1} more lines`];
}

/** Runs one action list (top level or per forEach item) and returns its merged forEach result. */
export async function runActionList(
  scope: RunScope,
  actions: readonly BrowserActionInput[],
): Promise<ForEachResult | undefined> {
  let merged: ForEachResult | undefined;
  for (const [index, action] of actions.entries()) {
    const path = `${scope.prefix}${index}`;
    const type = typeof action?.type === "string" ? action.type : "unknown";
    const left = remainingMs(scope.ctx);
    if (left <= 0) throw new ActionError(index, type, "the time allowed for browser actions ran out", path);
    const timeoutMs = budgetMs(scope.ctx, scope.ctx.actionTimeoutMs);
    const started = Date.now();
    try {
      if (type === "forEach") {
        const result = await runForEach(scope, action, path, runActionList);
        merged = mergeForEach(merged, result);
      } else {
        const detail = await performAction(scope, action, timeoutMs);
        scope.log.push(`#${path} ${type}: ${detail} (${Date.now() - started} ms)`);
      }
      scope.ctx.log?.debug({ action: path, type, ms: Date.now() - started }, "browser action done");
    } catch (err) {
      if (err instanceof ActionError) throw err;
      const failure = new ActionError(index, type, explainError(err, timeoutMs), path);
      scope.log.push(`#${path} ${type}: FAILED ${failure.detail} (${Date.now() - started} ms)`);
      scope.ctx.log?.warn({ action: path, type, err: failure.detail }, "browser action failed");
      throw failure;
    }
  }
  return merged;
}

function mergeForEach(a: ForEachResult | undefined, b: ForEachResult): ForEachResult {
  if (!a) return b;
  const offset = a.items.length;
  const itemPrompt = a.itemPrompt ?? b.itemPrompt;
  return {
    items: [...a.items, ...b.items.map((item) => ({ ...item, index: item.index + offset }))],
    pagesVisited: a.pagesVisited + b.pagesVisited,
    ...(itemPrompt ? { itemPrompt } : {}),
    stoppedBy: b.stoppedBy,
  };
}
