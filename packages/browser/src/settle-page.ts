// The wait after `load` for script-rendered pages: it ends as soon as the page is quiet (no request
// in flight, no change to the document) for a short window, and never lasts longer than its cap.
// Playwright's `networkidle` costs at least 500 ms on every page, even one complete at `load`.
import type { Page, Request } from "playwright-core";
import { evaluateInPage } from "./actions/evaluate-script.ts";

/**
 * How long a page must stay quiet (no request in flight or starting, no DOM change) to count as
 * settled. Requests in flight at `load` and chains (fetch → render → fetch) keep the settle going
 * by themselves, since each step is activity; the window only has to bridge work a script defers
 * with a timer, such as a render or fetch scheduled 200 ms after start-up (the test fixture's
 * script-rendered page does exactly that). 250 ms covers those with a margin, and is half the
 * 500 ms quiet period `networkidle` imposes.
 */
export const DEFAULT_SETTLE_QUIET_MS = 250;

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
 * `quietMs` in a row; at most `maxMs`. Never throws. A page that navigates is followed to its new
 * document (the navigation is network activity), within the same cap; a page or context that
 * closes ends the settle.
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
 * toggling classes or an animated style is not content still arriving. With `snapshot`, a quiet
 * answer carries the document as `page.content()` serialises it (doctype, then the root element's
 * outerHTML) and its title. Everything lives in this closure; nothing is left on the page's
 * globals, and the observer is disconnected when it resolves.
 */
function waitForQuietDom(arg: {
  quietMs: number;
  maxMs: number;
  snapshot: boolean;
}): Promise<{ quiet: boolean; snapshot?: { html: string; title: string } }> {
  return new Promise((resolve) => {
    let quietTimer: ReturnType<typeof setTimeout> | undefined;
    // A page may have replaced what this uses; then there is no snapshot and the caller reads the page.
    const read = (): { html: string; title: string } | undefined => {
      try {
        let html = document.doctype ? new XMLSerializer().serializeToString(document.doctype) : "";
        if (document.documentElement) html += document.documentElement.outerHTML;
        const title = document.title;
        return typeof html === "string" && typeof title === "string" ? { html, title } : undefined;
      } catch {
        return undefined;
      }
    };
    // Both are assigned before any timer can call finish().
    const finish = (quiet: boolean): void => {
      observer.disconnect();
      clearTimeout(quietTimer);
      clearTimeout(capTimer);
      const snapshot = quiet && arg.snapshot ? read() : undefined;
      resolve(snapshot ? { quiet, snapshot } : { quiet });
    };
    const restart = (): void => {
      clearTimeout(quietTimer);
      quietTimer = setTimeout(() => finish(true), arg.quietMs);
    };
    const observer = new MutationObserver(restart);
    observer.observe(document, { childList: true, subtree: true, characterData: true });
    const capTimer = setTimeout(() => finish(false), arg.maxMs);
    restart();
  });
}
