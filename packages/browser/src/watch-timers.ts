// Lets the settle after `load` see the one-shot timers a page has pending, so it can end as soon as
// nothing the page deferred with setTimeout is about to run (see settlePage). An init script, run
// in every document of the page before its own scripts, wraps window.setTimeout and clearTimeout
// and keeps the pending timeouts with their due time; the page sees the same API as before.
import { randomBytes } from "node:crypto";
import type { Page } from "playwright-core";

/**
 * Property of the page's window (non-enumerable, random per process, so a page cannot guess it)
 * holding the {@link PageTimers} reader the init script installs.
 */
export const TIMERS_KEY = `__${randomBytes(9).toString("hex")}`;

/** What the init script exposes under {@link TIMERS_KEY}, for code of ours evaluated in the page. */
export interface PageTimers {
  /** The page's clock (performance.now as it was before any page script ran). */
  now(): number;
  /** Pending one-shot timeouts (set with a function and neither run nor cleared) due within `withinMs` from now. */
  pending(withinMs: number): number;
  /** When a tracked timeout's callback last returned (on {@link now}'s clock); -Infinity before the first. */
  lastRun(): number;
  /** The native setTimeout, for our own timers: they are never counted as the page's. */
  setTimeout(callback: () => void, ms: number): number;
  /** The native clearTimeout. */
  clearTimeout(id: number | undefined): void;
}

/**
 * Installs the timer watch in every document `page` loads from now on (call it before `goto`).
 * Without it the settle still works, with its plain quiet window only.
 */
export async function watchTimers(page: Page): Promise<void> {
  await page.addInitScript(INIT_SOURCE);
}

// A function's text is what runs in the page; the `__name` shim covers the helper tsx/esbuild
// (keepNames) wraps inner functions in, which does not exist there (see evaluate-script.ts).
const INIT_SOURCE = `(() => { const __name = (f) => f; return (${installTimerWatch.toString()}); })()(${JSON.stringify(TIMERS_KEY)});`;

/**
 * In the page, before its scripts. setTimeout and clearTimeout (and clearInterval, which clears
 * timeouts too) are replaced by Proxies of the native functions: same name, length, attributes,
 * return values and errors; the page's arguments reach the native function unchanged except that a
 * function callback is wrapped, to note when it has run (its `this`, arguments, return value and
 * exceptions pass through). Timeouts with a string callback or a non-primitive delay, and
 * intervals, are not tracked. The only addition is the non-enumerable reader under `key`. What it
 * uses is captured here, before any page script can replace it; should the bookkeeping ever fail,
 * the page's call still goes through and the reader answers "busy" for good (the settle then keeps
 * its plain quiet window).
 */
function installTimerWatch(key: string): void {
  const w = window;
  if (Object.prototype.hasOwnProperty.call(w, key)) return;
  const nativeSet = w.setTimeout;
  const nativeClear = w.clearTimeout;
  const nativeClearInterval = w.clearInterval;
  const perf = w.performance;
  const nativeNow = perf.now;
  const apply = Reflect.apply;
  const mapProto = Map.prototype;
  const { set: mapSet, delete: mapDelete, forEach: mapForEach } = mapProto;
  const now = (): number => apply(nativeNow, perf, []) as number;
  // Timeout id → due time (scheduled-at + delay, on the now() clock).
  const pending = new Map<number, number>();
  let lastRun = -Infinity;
  let broken = false;
  // WebIDL `long` conversion of a primitive, without side effects; undefined when it would throw.
  const toLong = (value: unknown): number | undefined => {
    const type = typeof value;
    if (value !== null && (type === "object" || type === "function" || type === "symbol" || type === "bigint"))
      return undefined;
    return Number(value) | 0;
  };
  const untrack = (id: unknown): void => {
    try {
      const handle = toLong(id);
      if (handle !== undefined) apply(mapDelete, pending, [handle]);
    } catch {
      broken = true;
    }
  };
  const trackedSet = new Proxy(nativeSet, {
    apply(target, thisArg, args: unknown[]) {
      let forwarded = args;
      let dueIn: number | undefined;
      try {
        const callback = args[0];
        const delay = toLong(args[1]);
        if (typeof callback === "function" && delay !== undefined) {
          const run = function (this: unknown, ...callbackArgs: unknown[]): unknown {
            untrack(id);
            try {
              return apply(callback, this, callbackArgs);
            } finally {
              lastRun = now();
            }
          };
          forwarded = [run];
          for (let i = 1; i < args.length; i++) forwarded[i] = args[i];
          dueIn = delay > 0 ? delay : 0;
        }
      } catch {
        broken = true;
        forwarded = args;
        dueIn = undefined;
      }
      const scheduledAt = dueIn === undefined ? 0 : now();
      // `run` reads it, never before the native call has returned it.
      const id: unknown = apply(target, thisArg, forwarded);
      if (dueIn !== undefined) {
        try {
          apply(mapSet, pending, [id, scheduledAt + dueIn]);
        } catch {
          broken = true;
        }
      }
      return id;
    },
  });
  const clearing = (native: typeof nativeClear): typeof nativeClear =>
    new Proxy(native, {
      apply(target, thisArg, args: unknown[]) {
        const result = apply(target, thisArg, args) as unknown;
        untrack(args[0]);
        return result;
      },
    });
  // Same property attributes as the originals (own data properties of the global object).
  const replace = (name: "setTimeout" | "clearTimeout" | "clearInterval", value: unknown): boolean => {
    const desc = Object.getOwnPropertyDescriptor(w, name);
    if (!desc || !("value" in desc) || !desc.configurable) return false;
    Object.defineProperty(w, name, { ...desc, value });
    return true;
  };
  if (!replace("setTimeout", trackedSet)) return;
  replace("clearTimeout", clearing(nativeClear));
  replace("clearInterval", clearing(nativeClearInterval));
  const reader: PageTimers = Object.freeze(
    Object.assign(Object.create(null) as object, {
      now,
      pending(withinMs: number): number {
        if (broken) return Infinity;
        const horizon = now() + withinMs;
        let count = 0;
        try {
          apply(mapForEach, pending, [
            (due: number) => {
              if (due <= horizon) count++;
            },
          ]);
        } catch {
          broken = true;
          return Infinity;
        }
        return count;
      },
      lastRun: (): number => lastRun,
      setTimeout: (callback: () => void, ms: number): number =>
        apply(nativeSet, w, [callback, ms]) as unknown as number,
      clearTimeout: (id: number | undefined): void => void apply(nativeClear, w, [id]),
    }),
  );
  Object.defineProperty(w, key, { value: reader, enumerable: false, writable: false, configurable: false });
}
