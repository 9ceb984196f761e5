import type { RobotsRules } from "./robots-rules.ts";

/** Waits, before a page load, until the page's origin may be visited again. */
export type PageLoadPacer = (url: URL) => Promise<void>;

/**
 * Spaces the page loads of one crawl attempt by each origin's robots.txt `Crawl-delay` (capped by
 * CRAWL_MAX_DELAY_MS, none when robots.txt is ignored): loads of an origin queue one behind the
 * other, and each starts at least the delay after the one before started, even with several pages
 * in flight. The first load of an origin does not wait.
 */
export function createPageLoadPacer(robots: Pick<RobotsRules, "crawlDelayMs">): PageLoadPacer {
  /** Per origin: when the last load admitted started (resolves once it is admitted). */
  const lastStart = new Map<string, Promise<number>>();
  return async (url) => {
    const delayMs = await robots.crawlDelayMs(url.origin);
    if (delayMs <= 0) return;
    const previous = lastStart.get(url.origin) ?? Promise.resolve(Number.NEGATIVE_INFINITY);
    const admitted = previous.then(async (started) => {
      // A timer may fire a little early: wait until the delay has really passed.
      for (let wait = started + delayMs - Date.now(); wait > 0; wait = started + delayMs - Date.now()) {
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
      return Date.now();
    });
    lastStart.set(url.origin, admitted);
    await admitted;
  };
}
