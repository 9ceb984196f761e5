// Page-level watchers used around actions: unattended-safety guards, navigation tracking and a
// "quiet" detector (no DOM mutations and no pending requests) that replaces fixed sleeps.
import type { Dialog, Download, Frame, Page, Request } from "playwright-core";
import { evaluateInPage } from "./evaluate-script.ts";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** A forEach click item that waits for the tab its click opens (see {@link takePopups}). */
const popupTakers = new WeakMap<Page, (popup: Page) => void>();

/**
 * Dismisses dialogs (accepting beforeunload, which would otherwise block going back), closes
 * pop-ups (unless {@link takePopups} takes them) and cancels downloads. Safe next to the pool's own
 * guards; returns a disposer.
 */
export function guardPage(page: Page): () => void {
  const onDialog = (d: Dialog): void =>
    void (d.type() === "beforeunload" ? d.accept() : d.dismiss()).catch(() => undefined);
  const onPopup = (p: Page): void => {
    const take = popupTakers.get(page);
    if (take) take(p);
    else void p.close().catch(() => undefined);
  };
  const onDownload = (d: Download): void => void d.cancel().catch(() => undefined);
  page.on("dialog", onDialog);
  page.on("popup", onPopup);
  page.on("download", onDownload);
  return () => {
    page.off("dialog", onDialog);
    page.off("popup", onPopup);
    page.off("download", onDownload);
  };
}

export interface PopupWatch {
  /** The first tab opened since the watch began, if any. */
  first(): Page | undefined;
  /** Stops taking tabs and closes every tab taken but `keep` (which the caller then closes). */
  stop(keep?: Page): void;
}

/** Whether a tab opened by `opener` is being waited for (the context guard then leaves it open). */
export function popupWanted(opener: Page): boolean {
  return popupTakers.has(opener);
}

/** Start before a click that may open a new tab (`target=_blank`); the guard then keeps the tab for it. */
export function takePopups(page: Page): PopupWatch {
  const taken: Page[] = [];
  popupTakers.set(page, (p) => void taken.push(p));
  return {
    first: () => taken[0],
    stop(keep) {
      popupTakers.delete(page);
      for (const p of taken) if (p !== keep) void p.close().catch(() => undefined);
    },
  };
}

/** Time a script-initiated navigation (form submit, location.href in a handler) gets to start. */
const NAVIGATION_GRACE_MS = 120;
/** A navigation response that has not committed this long after finishing was a download or 204. */
const UNCOMMITTED_MS = 500;

export interface NavigationWatch {
  /** Waits for a navigation started since the watch began to load; true if the main frame navigated. */
  settle(timeoutMs: number): Promise<boolean>;
  stop(): void;
}

/** Start before an action that may navigate, `settle()` after it. */
export function watchNavigation(page: Page): NavigationWatch {
  let request: Request | undefined;
  let committed = false;
  let failed = false;
  let finishedAt = 0;
  const main = (r: Request): boolean => r.isNavigationRequest() && r.frame() === page.mainFrame();
  const onRequest = (r: Request): void => {
    if (!main(r)) return;
    request = r;
    failed = false;
    finishedAt = 0;
  };
  const onNavigated = (f: Frame): void => {
    if (f === page.mainFrame() && request) committed = true;
  };
  const onFailed = (r: Request): void => {
    if (r === request) failed = true;
  };
  const onFinished = (r: Request): void => {
    if (r === request) finishedAt = Date.now();
  };
  page.on("request", onRequest);
  page.on("framenavigated", onNavigated);
  page.on("requestfailed", onFailed);
  page.on("requestfinished", onFinished);
  const stop = (): void => {
    page.off("request", onRequest);
    page.off("framenavigated", onNavigated);
    page.off("requestfailed", onFailed);
    page.off("requestfinished", onFinished);
  };
  return {
    stop,
    async settle(timeoutMs) {
      try {
        await sleep(NAVIGATION_GRACE_MS);
        if (!request) return committed;
        const until = Date.now() + timeoutMs;
        while (!committed && !failed && Date.now() < until) {
          if (finishedAt && Date.now() - finishedAt > UNCOMMITTED_MS) break;
          await sleep(50);
        }
        if (!committed) return false;
        // Slow pages are not fatal here: the next action waits for its own element anyway.
        await page.waitForLoadState("load", { timeout: Math.max(1, until - Date.now()) }).catch(() => undefined);
        return true;
      } finally {
        stop();
      }
    },
  };
}

/** In-page: milliseconds since the last DOM mutation (installs the observer on first call → 0). */
export function sinceLastMutation(): number {
  const w = window as unknown as { __orbweaverMutatedAt?: number };
  if (w.__orbweaverMutatedAt === undefined) {
    w.__orbweaverMutatedAt = performance.now();
    new MutationObserver(() => {
      w.__orbweaverMutatedAt = performance.now();
    }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
    return 0;
  }
  return performance.now() - w.__orbweaverMutatedAt;
}

// Streams never go quiet; they must not hold the page "busy".
const IGNORED_TYPES = new Set(["websocket", "eventsource", "media", "manifest"]);
const DEFAULT_QUIET_MS = 400;
/**
 * After a request ends, the page renders what it brought in a task or two: this long without a
 * request ending lets that rendering show as a DOM change. Short, so a page polling in the
 * background (analytics heartbeats, a request every 200 ms) still counts as quiet.
 */
const AFTER_REQUEST_MS = 100;
/** How often a wait looks again while a request is in flight (a check in this process, not in the page). */
const NETWORK_POLL_MS = 20;

export interface QuietWatch {
  /**
   * Resolves once the page was quiet for `quietMs` (default 400) since the action, or after
   * `maxMs` at the latest. Quiet: no DOM change, no request in flight, none just finished.
   * True when the page went quiet, false when `maxMs` ran out first.
   */
  wait(maxMs: number, quietMs?: number): Promise<boolean>;
  stop(): void;
}

/**
 * Start before an action (so its mutations count), wait after it. The quiet window is counted from
 * the wait's start too, not only from the page's last change: a page that was quiet before a
 * click and reacts 100–350 ms later (a debounced search, a fetch on scroll, a modal on a timer)
 * is waited for, and so is the rendering after a request completes.
 */
export async function watchQuiet(page: Page): Promise<QuietWatch> {
  const inflight = new Set<Request>();
  let lastRequestAt = 0;
  const onRequest = (r: Request): void => {
    if (!IGNORED_TYPES.has(r.resourceType())) inflight.add(r);
  };
  const onDone = (r: Request): void => {
    if (inflight.delete(r)) lastRequestAt = Date.now();
  };
  page.on("request", onRequest);
  page.on("requestfinished", onDone);
  page.on("requestfailed", onDone);
  await evaluateInPage(page, sinceLastMutation, undefined).catch(() => 0);
  const stop = (): void => {
    page.off("request", onRequest);
    page.off("requestfinished", onDone);
    page.off("requestfailed", onDone);
  };
  return {
    stop,
    async wait(maxMs, quietMs = DEFAULT_QUIET_MS) {
      const started = Date.now();
      const until = started + maxMs;
      try {
        while (Date.now() < until) {
          // The network first, watched here without a round trip to the page, waking as soon as it
          // can be quiet: a page polling every 200 ms is quiet for ~100 ms of each cycle, which
          // sampling every 100 ms (slower on a loaded machine) can miss until the cap.
          const networkWait = inflight.size > 0 ? NETWORK_POLL_MS : lastRequestAt + AFTER_REQUEST_MS - Date.now();
          if (networkWait > 0) {
            await sleep(Math.min(networkWait, until - Date.now()));
            continue;
          }
          // A navigation replaces the document: the fresh observer reports 0 and we keep waiting.
          const since = await evaluateInPage(page, sinceLastMutation, undefined).catch(() => 0);
          const now = Date.now();
          const quietFor = Math.min(since, now - started);
          if (quietFor >= quietMs && now - lastRequestAt >= AFTER_REQUEST_MS && inflight.size === 0) return true;
          await sleep(Math.min(Math.max(NETWORK_POLL_MS, quietMs - quietFor), 100, until - Date.now()));
        }
        return maxMs <= 0;
      } finally {
        stop();
      }
    },
  };
}
