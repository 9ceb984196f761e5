import { stripVTControlCharacters } from "node:util";
import { errors } from "playwright-core";

/**
 * A browser action that could not be carried out. The run stops at the first one (the caller
 * reports the URL as failed with `message`). `path` is the action's 0-based position as in
 * `urls[i].actions[N]` validation errors; nested forEach actions read "3.1" (action 1 of forEach 3).
 */
export class ActionError extends Error {
  override name = "ActionError";
  /** Action log up to the failure, filled in by runActions. */
  log: string[] = [];
  constructor(
    readonly index: number,
    readonly type: string,
    readonly detail: string,
    readonly path: string = String(index),
  ) {
    super(`Action ${path} (${type}): ${detail}`);
  }
}

/** An element or element group could not be located; wrapped into an ActionError by the caller. */
export class ResolveError extends Error {
  override name = "ResolveError";
}

// Playwright's "Call log" lines that explain why an action never became possible.
const STATE_HINT = /intercepts pointer events|not visible|not enabled|not editable|not stable|detached|not a checkbox/;

/** A short, single-line explanation of any error thrown while acting on the page. */
export function explainError(err: unknown, timeoutMs?: number): string {
  if (err instanceof ResolveError) return err.message;
  // Playwright colours its call log when the process may (FORCE_COLOR, a terminal): clients get plain text.
  const message = stripVTControlCharacters(err instanceof Error ? err.message : String(err));
  const lines = message.split("\n").map((l) => l.trim());
  const first = (lines[0] ?? "").replace(/^[a-zA-Z]+\.[a-zA-Z]+: /, "");
  if (err instanceof errors.TimeoutError) {
    const hint = [...lines].reverse().find((l) => STATE_HINT.test(l));
    const base = timeoutMs === undefined ? first : `timed out after ${timeoutMs} ms`;
    return hint ? `${base} (${hint.replace(/^- /, "")})` : base;
  }
  if (/Target page, context or browser has been closed/.test(first)) return "the page was closed";
  return first;
}
