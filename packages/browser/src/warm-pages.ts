import type { BrowserContext, Page } from "playwright-core";

/** Pages made ahead of time in a context, with the timer watch installed, waiting for `openPage`. */
const warm = new WeakMap<BrowserContext, Page>();

/** Leaves `page` (blank, its timers watched) for the next {@link takeWarmPage} of its context. */
export function offerWarmPage(context: BrowserContext, page: Page): void {
  warm.set(context, page);
}

/** The context's ready page, once; undefined when it has none (or it closed meanwhile). */
export function takeWarmPage(context: BrowserContext): Page | undefined {
  const page = warm.get(context);
  warm.delete(context);
  return page && !page.isClosed() ? page : undefined;
}
