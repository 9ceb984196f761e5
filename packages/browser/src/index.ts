export { BrowserPool } from "./browser-pool.ts";
export type { BrowserPoolOptions } from "./browser-pool.ts";
export { BASE_CHROMIUM_ARGS } from "./chromium-args.ts";
export { openPage, capturePage, guardContext, NavigationError } from "./open-page.ts";
export type { OpenPageOptions, NavigationFailure } from "./open-page.ts";
export * from "./net/index.ts";
export { findBrowserPid } from "./find-browser-process.ts";
export * from "./actions/index.ts";
