// The single-step actions: click, type, check, uncheck, select, scroll, wait.
import type { Locator, Page } from "playwright-core";
import { ResolveError } from "./action-error.ts";
import {
  budgetMs,
  DEFAULT_NAVIGATION_TIMEOUT_MS,
  remainingMs,
  type BrowserActionInput,
  type RunScope,
} from "./action-types.ts";
import { evaluateInPage, evaluateOnElement } from "./evaluate-script.ts";
import { resolveTarget, type ResolveOptions } from "./resolve-target.ts";
import { scrollToFraction, setHiddenChecked, findOption, takesKeystrokes, typedValue } from "./step-scripts.ts";
import { ROLE_FAMILIES } from "./text-match.ts";
import { watchNavigation, watchQuiet } from "./watch-page.ts";

/** After an action, the page gets this long (at most) to finish reacting (XHR, rendering). */
const SETTLE_AFTER_ACTION_MS = 2000;
/** Scrolling may trigger lazy loading; shorter because nothing was clicked. */
const SETTLE_AFTER_SCROLL_MS = 1000;

const str = (v: unknown): string | undefined => (typeof v === "string" && v.trim() ? v : undefined);

/** What a click usually means when the description names no role: a button or link, not a text field. */
const CLICKABLE_ROLES = ["button", "link", "tab", "menuitem", "option", "switch", "treeitem", "summary"];

function resolveOptions(
  scope: RunScope,
  timeoutMs: number,
  roles: { prefer?: readonly string[]; only?: readonly string[] } = {},
): ResolveOptions {
  const { chooseElement } = scope.ctx;
  return {
    timeoutMs,
    chooserTimeoutMs: budgetMs(scope.ctx, timeoutMs * 3),
    ...(chooseElement ? { chooseElement } : {}),
    ...(roles.prefer ? { preferRoles: roles.prefer } : {}),
    ...(roles.only ? { onlyRoles: roles.only } : {}),
    ...(scope.within ? { within: scope.within } : {}),
  };
}

/** Runs `act`, then waits for any navigation it caused to load and for the page to go quiet. */
async function actAndSettle(page: Page, scope: RunScope, act: () => Promise<void>): Promise<string> {
  const quiet = await watchQuiet(page);
  const nav = watchNavigation(page);
  try {
    await act();
  } catch (err) {
    quiet.stop();
    nav.stop();
    throw err;
  }
  const navigated = await nav.settle(
    budgetMs(scope.ctx, scope.ctx.navigationTimeoutMs ?? DEFAULT_NAVIGATION_TIMEOUT_MS),
  );
  const cap = Math.min(SETTLE_AFTER_ACTION_MS, Math.max(0, remainingMs(scope.ctx)));
  const quieted = await quiet.wait(cap);
  return (
    (navigated ? ` → navigated to ${page.url()}` : "") + (quieted ? "" : `; the page was still busy after ${cap} ms`)
  );
}

/** Carries out one non-forEach action; returns a detail for the log. Throws on failure. */
export async function performAction(scope: RunScope, action: BrowserActionInput, timeoutMs: number): Promise<string> {
  const { page } = scope;
  const target = { selector: str(action.selector), value: str(action.value) };
  switch (action.type) {
    case "click": {
      const found = await resolveTarget(page, target, resolveOptions(scope, timeoutMs, { prefer: CLICKABLE_ROLES }));
      return found.how + (await actAndSettle(page, scope, () => found.locator.click({ timeout: timeoutMs })));
    }
    case "type": {
      if (typeof action.value !== "string") throw new ResolveError('needs "value" (the text to type)');
      // Described in words, only a text field can be meant ("Search" is the box, not the button).
      const found = await resolveTarget(
        page,
        { selector: target.selector },
        resolveOptions(scope, timeoutMs, { prefer: ROLE_FAMILIES.textbox, only: ROLE_FAMILIES.textbox }),
      );
      await actAndSettle(page, scope, () => typeInto(found.locator, action.value as string, timeoutMs));
      return `${found.how} ← ${JSON.stringify(action.value.length > 40 ? `${action.value.slice(0, 40)}…` : action.value)}`;
    }
    case "check":
    case "uncheck": {
      const roles = [...ROLE_FAMILIES.checkbox, ...ROLE_FAMILIES.radio];
      const found = await resolveTarget(page, target, resolveOptions(scope, timeoutMs, { prefer: roles }));
      const wanted = action.type === "check";
      return found.how + (await actAndSettle(page, scope, () => setChecked(found.locator, wanted, timeoutMs)));
    }
    case "select": {
      if (typeof action.value !== "string") throw new ResolveError('needs "value" (the option to pick)');
      const found = await resolveTarget(
        page,
        { selector: target.selector },
        resolveOptions(scope, timeoutMs, { prefer: ROLE_FAMILIES.combobox }),
      );
      const option = await evaluateOnElement(found.locator, findOption, { wanted: action.value }, timeoutMs);
      if ("error" in option) throw new ResolveError(option.error);
      const select = option.inner ? found.locator.locator("select").first() : found.locator;
      await actAndSettle(page, scope, async () => {
        await select.selectOption({ index: option.index }, { timeout: timeoutMs });
      });
      return `${found.how} = option ${JSON.stringify(option.label)}`;
    }
    case "scroll": {
      const match = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(String(action.to ?? ""));
      const percent = match ? Number(match[1]) : Number.NaN;
      if (!(percent >= 0 && percent <= 100)) throw new ResolveError('"to" must be a percentage from "0%" to "100%"');
      const quiet = await watchQuiet(page);
      const done = await evaluateInPage(page, scrollToFraction, { fraction: percent / 100 });
      await quiet.wait(Math.min(SETTLE_AFTER_SCROLL_MS, Math.max(0, remainingMs(scope.ctx))));
      return `${done.scroller} to ${Math.round(done.y)} px of ${Math.round(done.max)}`;
    }
    case "wait": {
      const duration = typeof action.duration === "number" && action.duration > 0 ? action.duration : 0;
      const ms = Math.min(duration, Math.max(0, remainingMs(scope.ctx)));
      await new Promise((r) => setTimeout(r, ms));
      return ms < duration ? `${ms} ms (cut from ${duration} ms by the deadline)` : `${ms} ms`;
    }
    default:
      throw new ResolveError(`unknown action type ${JSON.stringify(action.type)}`);
  }
}

/** Longest text typed key by key; longer text is filled at once (then one End key press). */
const MAX_KEYSTROKES = 200;

/**
 * Types as a person does, key by key, so pages listening for keydown/keyup (live filters,
 * autocompletes) react; fields where keystrokes do not spell the value (date, time, colour, range)
 * and long text are filled at once, followed by an End key press for key listeners. If the page
 * dropped the keystrokes (a field re-rendered under the typing), the value is filled instead.
 */
async function typeInto(locator: Locator, value: string, timeoutMs: number): Promise<void> {
  const keyed =
    value.length <= MAX_KEYSTROKES && (await evaluateOnElement(locator, takesKeystrokes, undefined, timeoutMs));
  if (!keyed) {
    await locator.fill(value, { timeout: timeoutMs });
    await locator.press("End", { timeout: timeoutMs }).catch(() => undefined);
    return;
  }
  await locator.fill("", { timeout: timeoutMs });
  await locator.pressSequentially(value, { timeout: timeoutMs });
  // The keys did not spell the value (a field re-rendered under the typing, a mask that kept its
  // prefix): fill it as before. A value cut to the field's maxlength is what a person gets too.
  const now = await evaluateOnElement(locator, typedValue, undefined, timeoutMs).catch(() => null);
  if (now && now.value !== value && !(now.maxLength >= 0 && now.value === value.slice(0, now.maxLength)))
    await locator.fill(value, { timeout: timeoutMs });
}

/**
 * Playwright's setChecked handles inputs, labels and role=checkbox, but cannot click an input that
 * is hidden behind a styled replacement (and has no visible label): toggle that one in the page.
 */
async function setChecked(locator: Locator, wanted: boolean, timeoutMs: number): Promise<void> {
  const hidden = await evaluateOnElement(locator, setHiddenChecked, { wanted }, timeoutMs);
  if (hidden === "not-hidden") await locator.setChecked(wanted, { timeout: timeoutMs });
  else if (hidden === "failed")
    throw new ResolveError(`the checkbox did not become ${wanted ? "checked" : "unchecked"}`);
}
