// Full-page screenshots: lazy content is loaded first (the page is scrolled through in viewport
// steps, then back to the top), and the capture is clipped to a height Chromium renders reliably.
import type { Page } from "playwright-core";
import { evaluateInPage } from "./actions/evaluate-script.ts";
import { settlePage, trackRequests } from "./settle-page.ts";

/**
 * The tallest (and widest) full-page screenshot, in CSS pixels: a taller page is captured from its
 * top down to this height. 16,384 px is Chromium's usual maximum texture size, so a capture within
 * it works with GPU compositing as well as without. It also keeps the capture quick and small: on
 * this project's 2-core test machine a 1280 × 16,384 px capture takes under 1 s (84 MB of pixels),
 * while a 200,000 px page took 12–15 s (over 1 GB), past `ACTION_TIMEOUT_MS` (10 s), so it came
 * back as no screenshot at all.
 */
export const FULL_PAGE_MAX_PX = 16_384;

/** Longest the scroll-through before a full-page capture may take (steps and the wait after them). */
export const LAZY_LOAD_MAX_MS = 5_000;

/** Pause after each scroll step, for IntersectionObserver callbacks and lazy images to start loading. */
const SCROLL_STEP_PAUSE_MS = 100;

/** Options for {@link loadLazyContent}. */
export interface LoadLazyContentOptions {
  /** Time the scroll and the wait for what it started may take; 0 (or less) does nothing. */
  budgetMs: number;
  /** The page is scrolled no further than this (the capture's height). Default {@link FULL_PAGE_MAX_PX}. */
  maxPx?: number;
}

/** What {@link loadLazyContent} did. */
export interface LazyLoadOutcome {
  /** Viewport steps scrolled. */
  steps: number;
  /** Whether the scroll reached the end of the page (or `maxPx`) within the budget. */
  reachedEnd: boolean;
  /** Images above `maxPx` still loading when the budget ran out (0 when all finished). */
  imagesPending: number;
}

/**
 * Scrolls the page down in viewport steps, to its end or `maxPx`, so lazy images
 * (`loading="lazy"`) and content an IntersectionObserver loads start loading; waits for the
 * requests this started and the images to finish; then scrolls back to the top, so fixed headers
 * are captured where they belong. Everything within `budgetMs`; never throws (a page that hangs
 * or closes just ends it).
 */
export async function loadLazyContent(page: Page, opts: LoadLazyContentOptions): Promise<LazyLoadOutcome> {
  const maxPx = opts.maxPx ?? FULL_PAGE_MAX_PX;
  const none: LazyLoadOutcome = { steps: 0, reachedEnd: false, imagesPending: 0 };
  if (opts.budgetMs <= 0 || page.isClosed()) return none;
  const until = Date.now() + opts.budgetMs;
  const left = () => Math.max(0, until - Date.now());
  const tracker = trackRequests(page);
  let outcome = none;
  try {
    const scrolled = await withinMs(
      evaluateInPage(page, scrollThrough, { maxPx, budgetMs: opts.budgetMs, pauseMs: SCROLL_STEP_PAUSE_MS }),
      left() + 500,
    );
    if (scrolled) outcome = { ...outcome, ...scrolled };
    // The requests the scroll started (images, IntersectionObserver fetches) and what they render.
    await settlePage(page, { tracker, maxMs: left() });
    const pending = await withinMs(evaluateInPage(page, waitForImages, { maxPx, maxMs: left() }), left() + 500);
    outcome = { ...outcome, imagesPending: pending ?? outcome.imagesPending };
  } catch {
    // The page navigated away or closed: the capture reports what it finds.
  } finally {
    tracker.dispose();
    await withinMs(evaluateInPage(page, scrollToTop, undefined), 1_000).catch(() => undefined);
  }
  return outcome;
}

/** Options for {@link takeFullPageScreenshot}. */
export interface FullPageScreenshotOptions {
  /** Timeout of the capture itself. */
  timeoutMs: number;
  /** Default {@link FULL_PAGE_MAX_PX}. */
  maxPx?: number;
}

/** A full-page PNG, and whether the page was larger than the capture. */
export interface FullPageScreenshot {
  png: Buffer;
  /** The page's size in CSS pixels when it was captured (as Playwright measures it). */
  pageWidth: number;
  pageHeight: number;
  /** True when the page was taller or wider than `maxPx`: the PNG is its top-left `maxPx` square at most. */
  clipped: boolean;
}

/** Captures the whole page as a PNG, clipped to `maxPx` on each side. Throws what Playwright throws. */
export async function takeFullPageScreenshot(page: Page, opts: FullPageScreenshotOptions): Promise<FullPageScreenshot> {
  const maxPx = opts.maxPx ?? FULL_PAGE_MAX_PX;
  // A page whose script never yields would hold the measure forever: it gets the capture's timeout.
  let timer: NodeJS.Timeout | undefined;
  const size = await Promise.race([
    evaluateInPage(page, pageSize, undefined),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the page did not answer within ${opts.timeoutMs} ms (its script is busy)`)),
        opts.timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  // Playwright trims the clip to the page, so a smaller page is captured whole.
  const png = await page.screenshot({
    type: "png",
    fullPage: true,
    clip: { x: 0, y: 0, width: maxPx, height: maxPx },
    timeout: opts.timeoutMs,
  });
  return {
    png,
    pageWidth: size.width,
    pageHeight: size.height,
    clipped: size.width > maxPx || size.height > maxPx,
  };
}

/** Races `work` against a timer: its value, or undefined when the timer won (or it rejected). */
async function withinMs<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([work.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** In the page: the document's size as Playwright's full-page screenshot measures it. */
function pageSize(): { width: number; height: number } {
  const b = document.body;
  const d = document.documentElement;
  if (!b || !d) return { width: 0, height: 0 };
  return {
    width: Math.max(b.scrollWidth, d.scrollWidth, b.offsetWidth, d.offsetWidth, b.clientWidth, d.clientWidth),
    height: Math.max(b.scrollHeight, d.scrollHeight, b.offsetHeight, d.offsetHeight, b.clientHeight, d.clientHeight),
  };
}

/**
 * In the page: scrolls from the top down one viewport at a time, pausing `pauseMs` after each
 * step, until the end of the page (which may grow as content loads), `maxPx`, or `budgetMs`.
 */
async function scrollThrough(arg: {
  maxPx: number;
  budgetMs: number;
  pauseMs: number;
}): Promise<{ steps: number; reachedEnd: boolean }> {
  const started = Date.now();
  const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, arg.pauseMs));
  const step = Math.max(100, window.innerHeight || 800);
  const bottom = (): number =>
    Math.min(arg.maxPx, Math.max(document.documentElement?.scrollHeight ?? 0, document.body?.scrollHeight ?? 0));
  let steps = 0;
  window.scrollTo({ top: 0, left: 0, behavior: "instant" });
  for (;;) {
    const at = window.scrollY;
    if (at + window.innerHeight >= bottom()) return { steps, reachedEnd: true };
    if (Date.now() - started + arg.pauseMs > arg.budgetMs) return { steps, reachedEnd: false };
    window.scrollTo({ top: at + step, left: 0, behavior: "instant" });
    // A document that does not scroll (overflow: hidden, content in a scrolling box) ends here.
    if (window.scrollY <= at) return { steps, reachedEnd: true };
    steps++;
    await pause();
  }
}

/**
 * In the page: waits (at most `maxMs`) until every image starting above `maxPx` has loaded or
 * failed; answers how many had not.
 */
async function waitForImages(arg: { maxPx: number; maxMs: number }): Promise<number> {
  const loading = Array.from(document.images).filter(
    (img) => !img.complete && img.getBoundingClientRect().top + window.scrollY < arg.maxPx,
  );
  if (loading.length === 0 || arg.maxMs <= 0) return loading.length;
  const done = loading.map(
    (img) =>
      new Promise<void>((resolve) => {
        img.addEventListener("load", () => resolve(), { once: true });
        img.addEventListener("error", () => resolve(), { once: true });
        if (img.complete) resolve();
      }),
  );
  await Promise.race([Promise.all(done), new Promise((resolve) => setTimeout(resolve, arg.maxMs))]);
  return loading.filter((img) => !img.complete).length;
}

/** In the page: back to the top, then two frames so the page has painted there (at most 200 ms). */
async function scrollToTop(): Promise<void> {
  window.scrollTo({ top: 0, left: 0, behavior: "instant" });
  await Promise.race([
    new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))),
    new Promise((resolve) => setTimeout(resolve, 200)),
  ]);
}
