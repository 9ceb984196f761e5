import type { Locator, Page } from "playwright-core";

/**
 * One browser action as it arrives in a scrape request (§6). The shape is loose on purpose: the
 * gateway already ran `validateActions`, and this package must not depend on the contract package,
 * so fields are read defensively at run time.
 */
export type BrowserActionInput = { type: string } & Record<string, unknown>;

/**
 * Picks one element (or element group) from a list when the deterministic matcher is unsure.
 * `candidates[i]` is a one-line description (role, name, text snippet, surroundings) without a
 * number; return the 0-based index of the match, or `null` when none fits. Anything else (out of
 * range, not an integer, a thrown error) makes the action fail with a clear message.
 */
export type ElementChooser = (description: string, candidates: string[]) => Promise<number | null>;

/** pino-compatible sink for diagnostics; optional. */
export interface ActionLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Everything {@link runActions} needs besides the page and the actions. */
export interface ActionContext {
  /** Upper bound for one action (locate + act). Default 10000 ms. */
  actionTimeoutMs: number;
  /** Epoch ms by which the whole run must end; waits are shortened and forEach stops early. Default: none. */
  deadline?: number;
  /** Page loads in forEach navigate mode and pagination. Default 30000 ms (also capped by `deadline`). */
  navigationTimeoutMs?: number;
  /** Model callback used when a plain-English description is ambiguous or matches nothing. Default: none (fail). */
  chooseElement?: ElementChooser;
  log?: ActionLogger;
}

/** One element processed by forEach. */
export interface ForEachItem {
  /** 0-based position across all pages (and across several top-level forEach actions). */
  index: number;
  /** Captured HTML (outerHTML of the captured element, or of `<body>` for whole pages). */
  html: string;
  /** Visible text of the same element. */
  text: string;
  /** URL of the page the content was captured on. */
  url: string;
  /** Set when this item failed (no link, navigation error, nested action error…); html may then be empty or partial. */
  error?: string;
}

/** Why a forEach loop ended. */
export type ForEachStop = "maxItems" | "noMoreElements" | "noNextControl" | "maxPages" | "deadline" | "noProgress";

export interface ForEachResult {
  items: ForEachItem[];
  /** Listing pages looked at, the first one included. */
  pagesVisited: number;
  itemPrompt?: string;
  stoppedBy: ForEachStop;
}

export interface ActionRunResult {
  /** Present when the action list contained a top-level forEach. */
  forEach?: ForEachResult;
  /** One line per action (and per forEach item/page), for scrape logs. */
  log: string[];
}

export const DEFAULT_ACTION_TIMEOUT_MS = 10_000;
export const DEFAULT_NAVIGATION_TIMEOUT_MS = 30_000;
/** Mirrors the contract's caps (FOR_EACH_MAX_ITEMS / PAGINATION_MAX_PAGES); duplicated to keep this package standalone. */
export const FOR_EACH_MAX_ITEMS = 50;
export const FOR_EACH_DEFAULT_ITEMS = 50;
export const PAGINATION_MAX_PAGES = 10;
export const PAGINATION_DEFAULT_PAGES = 5;
export const DEFAULT_WAIT_AFTER_CLICK_MS = 2500;

/** Milliseconds left before `deadline` (Infinity without one). */
export function remainingMs(ctx: Pick<ActionContext, "deadline">): number {
  return ctx.deadline === undefined ? Number.POSITIVE_INFINITY : ctx.deadline - Date.now();
}

/**
 * `capMs` shortened to what is left before the deadline, never below 1 ms: Playwright reads a
 * timeout of 0 as "wait forever", the opposite of what an exhausted budget means.
 */
export function budgetMs(ctx: Pick<ActionContext, "deadline">, capMs: number): number {
  return Math.max(1, Math.floor(Math.min(capMs, remainingMs(ctx))));
}

/** Run-scoped state shared by nested action lists. */
export interface RunScope {
  page: Page;
  ctx: ActionContext;
  /** Label prefix for nested actions, e.g. "3." for the actions of forEach action 3. */
  prefix: string;
  log: string[];
  depth: number;
  /** The forEach item whose nested actions run (inline mode): their targets are looked for in it first. */
  within?: Locator;
}
