import { Type, type Static } from "@sinclair/typebox";

/**
 * Browser actions (§6) travel as loose objects: clients send extra keys and several spellings
 * (`observe`/`value`), so the structural schema is permissive and {@link validateActions} gives
 * precise, index-naming errors.
 */
export const BrowserAction = Type.Object({ type: Type.String() }, { additionalProperties: true });
export type BrowserAction = Static<typeof BrowserAction> & Record<string, unknown>;

export const ACTION_TYPES = ["click", "type", "check", "uncheck", "wait", "scroll", "forEach", "select"] as const;

/** Hard caps from the contract. */
export const FOR_EACH_MAX_ITEMS = 50;
export const PAGINATION_MAX_PAGES = 10;
/** Actions in one list (a URL's, or a forEach's nested list); the contract leaves the number to the plan (400 beyond). */
export const MAX_ACTIONS_PER_LIST = 100;

const isText = (v: unknown): v is string => typeof v === "string" && v.trim().length > 0;

/** Returns one message per problem, each naming the action's path, e.g. `urls[0].actions[2]: …`. */
export function validateActions(actions: unknown[], path: string, depth = 0): string[] {
  const errors: string[] = [];
  if (actions.length > MAX_ACTIONS_PER_LIST)
    return [`${path}: at most ${MAX_ACTIONS_PER_LIST} actions (got ${actions.length})`];
  actions.forEach((raw, i) => {
    const at = `${path}[${i}]`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      errors.push(`${at}: must be an object with a "type"`);
      return;
    }
    const a = raw as Record<string, unknown>;
    const type = a.type;
    if (!(ACTION_TYPES as readonly unknown[]).includes(type)) {
      errors.push(`${at}: unknown action type ${JSON.stringify(type)} (expected one of ${ACTION_TYPES.join(", ")})`);
      return;
    }
    switch (type) {
      case "click":
      case "check":
      case "uncheck":
        if (!isText(a.selector) && !isText(a.value)) errors.push(`${at}: ${type} needs "selector" or "value"`);
        break;
      case "type":
      case "select":
        if (!isText(a.selector)) errors.push(`${at}: ${type} needs "selector"`);
        if (typeof a.value !== "string") errors.push(`${at}: ${type} needs "value" (a string)`);
        break;
      case "wait":
        if (typeof a.duration !== "number" || !Number.isFinite(a.duration) || a.duration < 0 || a.duration > 60_000)
          errors.push(`${at}: wait needs "duration" in milliseconds from 0 to 60000`);
        break;
      case "scroll":
        if (typeof a.to !== "string" || !/^\s*(100|[1-9]?\d)(\.\d+)?\s*%\s*$/.test(a.to))
          errors.push(`${at}: scroll needs "to" as a percentage from "0%" to "100%"`);
        break;
      case "forEach":
        errors.push(...validateForEach(a, at, depth));
        break;
    }
  });
  return errors;
}

function validateForEach(a: Record<string, unknown>, at: string, depth: number): string[] {
  const errors: string[] = [];
  if (!isText(a.observe) && !isText(a.value) && !isText(a.selector))
    errors.push(`${at}: forEach needs "observe" (or "value"/"selector") naming the elements`);
  if (a.mode !== undefined && !["inline", "navigate", "click"].includes(a.mode as string))
    errors.push(`${at}: forEach "mode" must be inline, navigate or click`);
  // Caps, not limits (§6 "hard cap"): a larger value asks for as many as allowed, and gets the cap.
  if (a.maxItems !== undefined && !(Number.isInteger(a.maxItems) && (a.maxItems as number) >= 1))
    errors.push(
      `${at}: forEach "maxItems" must be a whole number of at least 1 (values above ${FOR_EACH_MAX_ITEMS} mean ${FOR_EACH_MAX_ITEMS})`,
    );
  if (
    a.waitAfterClick !== undefined &&
    !(Number.isInteger(a.waitAfterClick) && (a.waitAfterClick as number) >= 0 && (a.waitAfterClick as number) <= 60_000)
  )
    errors.push(`${at}: forEach "waitAfterClick" must be milliseconds from 0 to 60000`);
  if (a.pagination !== undefined) {
    const p = a.pagination as Record<string, unknown> | null;
    if (typeof p !== "object" || p === null || !isText(p.nextSelector))
      errors.push(`${at}: forEach "pagination" needs "nextSelector"`);
    else if (p.maxPages !== undefined && !(Number.isInteger(p.maxPages) && (p.maxPages as number) >= 0))
      errors.push(
        `${at}: forEach "pagination.maxPages" must be a whole number of at least 0 (values above ${PAGINATION_MAX_PAGES} mean ${PAGINATION_MAX_PAGES})`,
      );
  }
  if (a.actions !== undefined) {
    if (!Array.isArray(a.actions)) errors.push(`${at}: forEach "actions" must be an array`);
    else if (depth >= 2) errors.push(`${at}: forEach may be nested at most 3 levels deep`);
    else errors.push(...validateActions(a.actions, `${at}.actions`, depth + 1));
  }
  return errors;
}
