// Browser actions (§6): the public surface of packages/browser/src/actions.
export { runActions } from "./run-actions.ts";
export { resolveTarget, locateSelector } from "./resolve-target.ts";
export type { TargetSpec, ResolveOptions, ResolvedTarget } from "./resolve-target.ts";
export { ActionError, ResolveError } from "./action-error.ts";
export {
  DEFAULT_ACTION_TIMEOUT_MS,
  DEFAULT_NAVIGATION_TIMEOUT_MS,
  DEFAULT_WAIT_AFTER_CLICK_MS,
  FOR_EACH_MAX_ITEMS,
  PAGINATION_MAX_PAGES,
} from "./action-types.ts";
export type {
  ActionContext,
  ActionLogger,
  ActionRunResult,
  BrowserActionInput,
  ElementChooser,
  ForEachItem,
  ForEachResult,
  ForEachStop,
} from "./action-types.ts";
