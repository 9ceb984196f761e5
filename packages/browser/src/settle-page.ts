// The wait after `load` for script-rendered pages: it ends as soon as the page is quiet (no request
// in flight, no change to the document) for a short window, and never lasts longer than its cap.
// Playwright's `networkidle` costs at least 500 ms on every page, even one complete at `load`.
import type { Page, Request } from "playwright-core";
import { evaluateInPage } from "./actions/evaluate-script.ts";
import { TIMERS_KEY, type PageTimers } from "./watch-timers.ts";

/**
 * How long a page must stay quiet (no request in flight or starting, no DOM change) to count as
 * settled. Requests in flight at `load` and chains (fetch → render → fetch) keep the settle going
 * by themselves, since each step is activity; the window only has to bridge work a script defers
 * with a timer, such as a render or fetch scheduled 200 ms after start-up (the test fixture's
 * script-rendered page does exactly that). 250 ms covers those with a margin, and is half the
 * 500 ms quiet period `networkidle` imposes.
 *
 * With the page's timers watched (`watchTimers`, installed by `openPage`), the settle does not sit
 * out the whole window when nothing is deferred: the page is also quiet once its DOM has not
 * changed (nor a timeout of its run) for {@link SETTLE_MIN_QUIET_MS} and none of its pending
 * setTimeout callbacks is due within this window. Timers due later are ignored, as the plain
 * window ignores them; and the plain window still applies, so the settle never ends later than it
 * did with the window alone (a page that keeps a timeout always pending gets exactly that).
 */
export const DEFAULT_SETTLE_QUIET_MS = 250;

/**
 * The short quiet the timer-aware rule (see {@link DEFAULT_SETTLE_QUIET_MS}) still requires: it
 * covers work no timer shows, such as a render on the next animation frame, a scheduler's
 * MessageChannel task, microtasks, a WebSocket message handled right away.
 */
export const SETTLE_MIN_QUIET_MS = 50;

/** How often the timer-aware rule looks again while a timer of the page is about to run. */
const TIMER_CHECK_MS = 10;

/** Default cap of a settle ({@link SettlePageOptions.maxMs}). */
export const DEFAULT_SETTLE_MAX_MS = 2500;

/**
 * Requests that are open by design and would only ever end the settle at its cap: a stream of
 * server-sent events, audio/video. Their start still counts as activity; they are not waited for.
 */
const LONG_LIVED_TYPES: ReadonlySet<string> = new Set(["eventsource", "media"]);

/** Counts a page's requests in flight; attach it before `goto` so the load's requests are counted. */
export interface RequestTracker {
  /** Requests started and not yet finished or failed (long-lived streams excluded). */
  inFlight(): number;
  /** Requests started since the tracker was attached: a change means there was network activity. */
  started(): number;
  /** Resolves when no request is in flight (at once when none is). Never rejects. */
  idle(): Promise<void>;
  /** Detaches the listeners. */
  dispose(): void;
}

/** Starts counting the requests of `page` (all its frames). */
export function trackRequests(page: Page): RequestTracker {
  const pending = new Set<Request>();
  let started = 0;
  let waiters: Array<() => void> = [];
  const onRequest = (request: Request): void => {
    started++;
    if (!LONG_LIVED_TYPES.has(request.resourceType())) pending.add(request);
  };
  const onDone = (request: Request): void => {
    if (!pending.delete(request) || pending.size > 0) return;
    const wake = waiters;
    waiters = [];
    for (const w of wake) w();
  };
  page.on("request", onRequest);
  page.on("requestfinished", onDone);
  page.on("requestfailed", onDone);
  return {
    inFlight: () => pending.size,
    started: () => started,
    idle: () => (pending.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    dispose() {
      page.off("request", onRequest);
      page.off("requestfinished", onDone);
      page.off("requestfailed", onDone);
      const wake = waiters;
      waiters = [];
      for (const w of wake) w();
    },
  };
}

/** Options for {@link settlePage}. */
export interface SettlePageOptions {
  /** Quiet window, see {@link DEFAULT_SETTLE_QUIET_MS}. */
  quietMs?: number;
  /** Cap: the settle never lasts longer. 0 (or less) skips it. Default {@link DEFAULT_SETTLE_MAX_MS}. */
  maxMs?: number;
  /**
   * Tracker attached before the navigation (by {@link openPage}), so requests already in flight are
   * waited for. Without one, the settle counts only requests that start after it begins.
   */
  tracker?: RequestTracker;
  /**
   * Called once, when the settle ends quiet, with the document as it stood at that moment (read in
   * the same evaluation that saw the quiet, so the caller need not read the page again).
   */
  onQuietSnapshot?: (snapshot: QuietSnapshot) => void;
}

/** The document when a settle found the page quiet: what `page.content()` and `page.title()` would read. */
export interface QuietSnapshot {
  html: string;
  title: string;
}

/** How a settle ended: the page went quiet, the cap was reached, or the page closed. */
export type SettleOutcome = "quiet" | "capped" | "closed";

/** Pause before trying again after the page lost its document (navigation), so a dying page cannot spin us. */
const RETRY_PAUSE_MS = 20;

/**
 * Waits until the page is quiet: no request in flight and none started, and no DOM change, for
 * `quietMs` in a row (or, on a page whose timers are watched, for {@link SETTLE_MIN_QUIET_MS} with
 * no timeout of the page due within `quietMs`); at most `maxMs`. Never throws. A page that
 * navigates is followed to its new document (the navigation is network activity), within the same
 * cap; a page or context that closes ends the settle.
 */
export async function settlePage(page: Page, opts: SettlePageOptions = {}): Promise<SettleOutcome> {
  const maxMs = opts.maxMs ?? DEFAULT_SETTLE_MAX_MS;
  const quietMs = Math.max(1, opts.quietMs ?? DEFAULT_SETTLE_QUIET_MS);
  if (page.isClosed()) return "closed";
  if (maxMs <= 0) return "capped";
  const own = opts.tracker ? undefined : trackRequests(page);
  const tracker = (opts.tracker ?? own) as RequestTracker;
  const deadline = Date.now() + maxMs;
  let capTimer: NodeJS.Timeout | undefined;
  const cap = new Promise<"capped">((resolve) => {
    capTimer = setTimeout(() => resolve("capped"), maxMs);
  });
  let onClose: () => void = () => undefined;
  const closed = new Promise<"closed">((resolve) => {
    onClose = () => resolve("closed");
    page.once("close", onClose);
  });
  try {
    for (;;) {
      if (tracker.inFlight() > 0) {
        const waited = await Promise.race([tracker.idle().then(() => "idle" as const), cap, closed]);
        if (waited !== "idle") return waited;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) return "capped";
      const before = tracker.started();
      // A page whose script spins never answers; the cap and the close still end the race, and the
      // evaluation (left pending until the context closes) has its rejection handled here.
      let snapshot: QuietSnapshot | undefined;
      const dom = evaluateInPage(page, waitForQuietDom, {
        quietMs,
        minQuietMs: SETTLE_MIN_QUIET_MS,
        checkMs: TIMER_CHECK_MS,
        timersKey: TIMERS_KEY,
        maxMs: remaining,
        snapshot: opts.onQuietSnapshot !== undefined,
      }).then(
        (seen) => {
          if (!seen.quiet) return "busy" as const;
          snapshot = seen.snapshot;
          return "quiet" as const;
        },
        () => "lost" as const,
      );
      const result = await Promise.race([dom, cap, closed]);
      if (result === "capped" || result === "closed") return result;
      if (result === "busy") return "capped";
      if (result === "quiet" && tracker.started() === before && tracker.inFlight() === 0) {
        if (snapshot) opts.onQuietSnapshot?.(snapshot);
        return "quiet";
      }
      if (result === "lost") {
        // The document went away: a navigation (followed), or the page is closing.
        if (page.isClosed()) return "closed";
        const paused = await Promise.race([delay(RETRY_PAUSE_MS).then(() => "retry" as const), cap, closed]);
        if (paused !== "retry") return paused;
      }
    }
  } finally {
    clearTimeout(capTimer);
    page.off("close", onClose);
    own?.dispose();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * In the page: resolves quiet once the document has not changed for `quietMs`, not quiet after
 * `maxMs` of changes. Only content changes count (nodes and text), not attributes: a carousel
 * toggling classes or an animated style is not content still arriving; changes inside open shadow
 * roots count as the document's. On a page whose timers are
 * watched (the reader under `timersKey`), it is also quiet once neither the document changed nor a
 * timeout of the page ran for `minQuietMs`, and no pending timeout of the page is due within
 * `quietMs`; while one is, it looks again every `checkMs`. Its own timers are the native ones, from
 * the reader, so they never count as the page's. With `snapshot`, a quiet answer carries the
 * document as `page.content()` serialises it (doctype, then the root element's outerHTML) and its
 * title. Everything lives in this closure; nothing is left on the page's globals, and the observer
 * is disconnected when it resolves.
 */
function waitForQuietDom(arg: {
  quietMs: number;
  minQuietMs: number;
  checkMs: number;
  timersKey: string;
  maxMs: number;
  snapshot: boolean;
}): Promise<{ quiet: boolean; snapshot?: { html: string; title: string } }> {
  return new Promise((resolve) => {
    // The reader the timer watch installed, if it did; a page cannot have set it (the key is random).
    const found = (window as unknown as Record<string, PageTimers | undefined>)[arg.timersKey];
    const timers =
      found &&
      typeof found.now === "function" &&
      typeof found.pending === "function" &&
      typeof found.lastRun === "function" &&
      typeof found.setTimeout === "function" &&
      typeof found.clearTimeout === "function" &&
      arg.minQuietMs < arg.quietMs
        ? found
        : undefined;
    const later = (fn: () => void, ms: number): number =>
      timers ? timers.setTimeout(fn, ms) : (setTimeout(fn, ms) as unknown as number);
    const cancel = (id: number | undefined): void => (timers ? timers.clearTimeout(id) : clearTimeout(id));
    let quietTimer: number | undefined;
    let checkTimer: number | undefined;
    let lastChange = timers ? timers.now() : 0;
    // A page may have replaced what this uses; then there is no snapshot and the caller reads the page.
    const read = (): { html: string; title: string } | undefined => {
      try {
        // Web components: their shadow roots are not in the outerHTML; the caller reads the page
        // with them composed in (capturePage).
        const walker = document.createTreeWalker(document, NodeFilter.SHOW_ELEMENT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          if ((node as Element).shadowRoot) return undefined;
        }
        let html = document.doctype ? new XMLSerializer().serializeToString(document.doctype) : "";
        if (document.documentElement) html += document.documentElement.outerHTML;
        const title = document.title;
        return typeof html === "string" && typeof title === "string" ? { html, title } : undefined;
      } catch {
        return undefined;
      }
    };
    let done = false;
    // Both are assigned before any timer can call finish().
    const finish = (quiet: boolean): void => {
      if (done) return;
      done = true;
      observer.disconnect();
      cancel(quietTimer);
      cancel(checkTimer);
      cancel(capTimer);
      const snapshot = quiet && arg.snapshot ? read() : undefined;
      resolve(snapshot ? { quiet, snapshot } : { quiet });
    };
    const restart = (): void => {
      cancel(quietTimer);
      quietTimer = later(() => finish(true), arg.quietMs);
      if (timers) lastChange = timers.now();
    };
    // The timer-aware rule: a short quiet, and nothing the page deferred is about to run.
    const check = (): void => {
      if (!timers) return;
      const quietFor = timers.now() - Math.max(lastChange, timers.lastRun());
      if (quietFor >= arg.minQuietMs && timers.pending(arg.quietMs) === 0) finish(true);
      else checkTimer = later(check, Math.max(arg.checkMs, arg.minQuietMs - quietFor));
    };
    // Web components: a shadow root's content is not the document's subtree, so each open root is
    // observed too, those there now and those that arrive (in added nodes, nested ones included).
    const watched = { childList: true, subtree: true, characterData: true };
    const seen = new WeakSet<ShadowRoot>();
    const watchShadowRoots = (node: Node): void => {
      if (node.nodeType !== Node.ELEMENT_NODE) return;
      const walker = document.createTreeWalker(node, NodeFilter.SHOW_ELEMENT);
      for (let el = node as Element | null; el; el = walker.nextNode() as Element | null) {
        const root = el.shadowRoot;
        if (!root || seen.has(root)) continue;
        seen.add(root);
        observer.observe(root, watched);
        for (const child of Array.from(root.children)) watchShadowRoots(child);
      }
    };
    // A page that broke what this uses is settled by its document's changes alone.
    const watchAll = (records: MutationRecord[]): void => {
      try {
        for (const record of records) for (const node of Array.from(record.addedNodes)) watchShadowRoots(node);
      } catch {
        // Nothing more to watch.
      }
    };
    const observer = new MutationObserver((records) => {
      restart();
      watchAll(records);
    });
    observer.observe(document, watched);
    try {
      if (document.documentElement) watchShadowRoots(document.documentElement);
    } catch {
      // As above.
    }
    const capTimer = later(() => finish(false), arg.maxMs);
    restart();
    if (timers) checkTimer = later(check, arg.minQuietMs);
  });
}
