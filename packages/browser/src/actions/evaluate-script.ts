import type { Frame, Locator, Page } from "playwright-core";
import {
  bodyElements,
  composedParent,
  cssPath,
  deepQueryAll,
  isShown,
  openShadowRoots,
  pathIndex,
  queryPath,
  queryPathAll,
  textOf,
} from "./page-helpers.ts";

// Functions passed to page.evaluate are serialised with toString(). tsx (esbuild keepNames) wraps
// inner functions in `__name(fn, "name")`, a helper that does not exist in the page, so in-page
// code crashes in production but not under vitest. The shim defines a no-op `__name` around the
// function text; Playwright stringifies functions with String(fn), which reads our toString.
// The page helpers are inlined the same way (scripts see them via `declare const`), because an
// imported binding would be rewritten by the test transform and be undefined in the page.
const HELPERS: ReadonlyArray<(...args: never[]) => unknown> = [
  openShadowRoots,
  deepQueryAll,
  bodyElements,
  composedParent,
  cssPath,
  queryPathAll,
  queryPath,
  pathIndex,
  isShown,
  textOf,
];
const HELPER_SOURCE = HELPERS.map((h) => `const ${h.name} = ${h.toString()};`).join("\n");
const shimmed = new WeakMap<object, unknown>();

function withNameShim<F extends (...args: never[]) => unknown>(fn: F): F {
  const cached = shimmed.get(fn);
  if (cached) return cached as F;
  const source = `(() => { const __name = (f) => f;\n${HELPER_SOURCE}\nreturn (${fn.toString()}); })()`;
  const wrapper = (() => undefined) as unknown as F;
  wrapper.toString = () => source;
  shimmed.set(fn, wrapper);
  return wrapper;
}

/** page.evaluate for self-contained functions written in this package (safe under tsx). */
export function evaluateInPage<A, R>(target: Page | Frame, fn: (arg: A) => R, arg: A): Promise<Awaited<R>> {
  return target.evaluate(withNameShim(fn) as never, arg as never) as Promise<Awaited<R>>;
}

/** locator.evaluateAll with the same shim: every current match, without waiting for one. */
export function evaluateOnAll<A, R>(locator: Locator, fn: (els: Element[], arg: A) => R, arg: A): Promise<Awaited<R>> {
  return locator.evaluateAll(withNameShim(fn) as never, arg as never) as Promise<Awaited<R>>;
}

/** locator.evaluate with the same shim; the element is the first argument. */
export function evaluateOnElement<A, R>(
  locator: Locator,
  fn: (el: Element, arg: A) => R,
  arg: A,
  timeoutMs: number,
): Promise<Awaited<R>> {
  return locator.evaluate(withNameShim(fn) as never, arg as never, { timeout: timeoutMs }) as Promise<Awaited<R>>;
}
