export { BrowserPool, BrowserDisconnectedError, raceDisconnect } from "./browser-pool.ts";
export type { BrowserPoolOptions, BrowserPoolStats } from "./browser-pool.ts";
export { BASE_CHROMIUM_ARGS } from "./chromium-args.ts";
export { openPage, capturePage, guardContext, NavigationError, DEFAULT_CAPTURE_TIMEOUT_MS } from "./open-page.ts";
export type { OpenPageOptions, OpenedPage, NavigationFailure, CapturePageOptions } from "./open-page.ts";
export { settlePage, trackRequests, DEFAULT_SETTLE_QUIET_MS, DEFAULT_SETTLE_MAX_MS } from "./settle-page.ts";
export { SETTLE_MIN_QUIET_MS } from "./settle-page.ts";
export { watchTimers } from "./watch-timers.ts";
export type { SettlePageOptions, SettleOutcome, RequestTracker, QuietSnapshot } from "./settle-page.ts";
export { limitContext } from "./limit-context.ts";
export type { ContextLimits, LimitedContext } from "./limit-context.ts";
export * from "./net/index.ts";
export { findBrowserPid } from "./find-browser-process.ts";
export * from "./actions/index.ts";
export * from "./fetch/index.ts";
export * from "./cookies/index.ts";
export * from "./proxies/index.ts";
export * from "./captcha/index.ts";
export { FULL_PAGE_MAX_PX, LAZY_LOAD_MAX_MS, loadLazyContent, takeFullPageScreenshot } from "./full-page-screenshot.ts";
export type {
  FullPageScreenshot,
  FullPageScreenshotOptions,
  LazyLoadOutcome,
  LoadLazyContentOptions,
} from "./full-page-screenshot.ts";
