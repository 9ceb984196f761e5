import {
  DEFAULT_WAIT_AFTER_CLICK_MS,
  FOR_EACH_DEFAULT_ITEMS,
  FOR_EACH_MAX_ITEMS,
  PAGINATION_DEFAULT_PAGES,
  PAGINATION_MAX_PAGES,
  type BrowserActionInput,
} from "./action-types.ts";
import { ResolveError } from "./action-error.ts";

export type ForEachMode = "inline" | "navigate" | "click";

/** A forEach action with defaults applied and caps enforced (§6). */
export interface ForEachOptions {
  /** Plain-English description: `observe`, else `value` (D11). */
  description?: string;
  /** CSS/XPath; used instead of the description when both are given (it is exact). */
  selector?: string;
  /** Default "click". */
  mode: ForEachMode;
  captureSelector?: string;
  /** Default 50, cap 50, counted across pages. */
  maxItems: number;
  /** Upper bound of the settle time after a click or page load. Default 2500 ms. */
  waitAfterClickMs: number;
  itemPrompt?: string;
  actions: BrowserActionInput[];
  /** `maxPages`: additional pages after the first (D12). Default 5, cap 10. */
  pagination?: { next: string; maxPages: number };
}

const text = (v: unknown): string | undefined => (typeof v === "string" && v.trim() ? v.trim() : undefined);
const int = (v: unknown, fallback: number, min: number, max: number): number =>
  typeof v === "number" && Number.isFinite(v) ? Math.min(max, Math.max(min, Math.floor(v))) : fallback;

/** Throws ResolveError for a forEach the runtime cannot carry out. */
export function readForEachOptions(a: BrowserActionInput): ForEachOptions {
  const description = text(a.observe) ?? text(a.value);
  const selector = text(a.selector);
  if (!description && !selector) throw new ResolveError('needs "observe" (or "value"/"selector") naming the elements');
  const mode = a.mode === undefined ? "click" : a.mode;
  if (mode !== "inline" && mode !== "navigate" && mode !== "click")
    throw new ResolveError(`"mode" must be inline, navigate or click (got ${JSON.stringify(mode)})`);
  if (a.actions !== undefined && !Array.isArray(a.actions)) throw new ResolveError('"actions" must be an array');
  const p = a.pagination as Record<string, unknown> | undefined | null;
  let pagination: ForEachOptions["pagination"];
  if (p !== undefined && p !== null) {
    const next = typeof p === "object" ? text(p.nextSelector) : undefined;
    if (!next) throw new ResolveError('"pagination" needs "nextSelector"');
    pagination = { next, maxPages: int(p.maxPages, PAGINATION_DEFAULT_PAGES, 0, PAGINATION_MAX_PAGES) };
  }
  const captureSelector = text(a.captureSelector);
  const itemPrompt = text(a.itemPrompt);
  return {
    ...(description ? { description } : {}),
    ...(selector ? { selector } : {}),
    mode,
    ...(captureSelector ? { captureSelector } : {}),
    maxItems: int(a.maxItems, FOR_EACH_DEFAULT_ITEMS, 1, FOR_EACH_MAX_ITEMS),
    waitAfterClickMs: int(a.waitAfterClick, DEFAULT_WAIT_AFTER_CLICK_MS, 0, 60_000),
    ...(itemPrompt ? { itemPrompt } : {}),
    actions: (a.actions as BrowserActionInput[] | undefined) ?? [],
    ...(pagination ? { pagination } : {}),
  };
}
