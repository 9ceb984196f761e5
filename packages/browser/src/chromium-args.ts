/**
 * The features Playwright 1.65 disables in every Chromium it launches (its `chromiumSwitches`:
 * HTTP kept on HTTP, no paint holding, no third-party storage partitioning, no startup traffic to
 * Google...). Chromium honours only the last `--disable-features` on its command line and
 * Playwright puts ours after its own, so a launch that disables anything more must repeat this
 * list. `browser-pool-flags.test.ts` reads a launched browser's command line and fails when
 * Playwright's list has names this one lacks (after a Playwright upgrade).
 */
export const PLAYWRIGHT_DISABLED_FEATURES = [
  "AvoidUnnecessaryBeforeUnloadCheckSync",
  "DestroyProfileOnBrowserClose",
  "HttpsUpgrades",
  "HttpsFirstBalancedModeAutoEnable",
  "LensOverlay",
  "MediaRouter",
  "PaintHolding",
  "ThirdPartyStoragePartitioning",
  "AvoidCorsURLLoaderRestartOnRedirect",
  "TcpPortRandomizationWin",
  "OptimizationHints",
  "NetworkTimeServiceQuerying",
  "AimEnabled",
  "PreconnectToSearch",
  "msForceBrowserSignIn",
  "msEdgeUpdateLaunchServicesPreferredVersion",
] as const;

/**
 * Features we disable on top of Playwright's, each measured per page loaded in a fresh context
 * (Chromium 156; `browser-pool-flags.test.ts` checks the processes):
 * - `SpareRendererForSitePerProcess`: Chromium starts a renderer process ahead of time for the next
 *   navigation, but for the browser context it last used; every job runs in a fresh context, so
 *   each spare was started and thrown away (one renderer process more per page, ~8 % more CPU).
 * - `WebUIOmniboxPopup`, `WebUIOmniboxAimPopup`: every new context opens a window, and Chromium
 *   loads the window's address-bar popups as WebUI pages (`chrome://omnibox-popup.top-chrome`:
 *   hundreds of modules, in a renderer of their own) whether or not anything ever shows them. A
 *   headless browser has no address bar to type in; the popups cost ~150 ms of renderer CPU per
 *   page by `load` and ~450 ms within the second after it (renderer CPU per page 245 → 90 ms,
 *   browser process 213 → 129 ms). Both are needed: either alone leaves the popup loading.
 */
export const EXTRA_DISABLED_FEATURES = [
  "SpareRendererForSitePerProcess",
  "WebUIOmniboxPopup",
  "WebUIOmniboxAimPopup",
] as const;

/** Flags every Chromium launch uses: no sandbox (root in containers), no background traffic. */
export const BASE_CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-dev-shm-usage",
  `--disable-features=${[...PLAYWRIGHT_DISABLED_FEATURES, ...EXTRA_DISABLED_FEATURES].join(",")}`,
];
