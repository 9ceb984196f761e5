import { errors, type BrowserContext, type Download, type Page, type Response } from "playwright-core";
import { DEFAULT_SETTLE_MAX_MS, settlePage, trackRequests } from "./settle-page.ts";
import { takeWarmPage } from "./warm-pages.ts";
import { watchTimers } from "./watch-timers.ts";
import { isWebUrl } from "./web-url.ts";
import { evaluateInPage } from "./actions/evaluate-script.ts";
import { popupWanted } from "./actions/watch-page.ts";
import { readFlatDocument } from "./flat-document.ts";

/** Options for {@link openPage}. */
export interface OpenPageOptions {
  url: string;
  /** Navigation timeout: the document must arrive and parse within it (the `load` event too, or the page is partial). */
  timeoutMs: number;
  /**
   * Cap of the settle after `load`, for script-rendered pages: the page is returned as soon as it is
   * quiet (no request in flight, no DOM change for `DEFAULT_SETTLE_QUIET_MS`, or for
   * `SETTLE_MIN_QUIET_MS` when no timeout of the page is due within it), at the latest after this.
   * Default 2500 ms; 0 skips the settle.
   */
  settleMs?: number;
  /** Quiet window of the settle. Default `DEFAULT_SETTLE_QUIET_MS` (250 ms). */
  quietMs?: number;
  /**
   * Return the page's content as the settle found it quiet ({@link OpenedPage.snapshot}), for a
   * caller that reads the page right away and does nothing to it first: one read fewer.
   */
  snapshot?: boolean;
}

/** What {@link openPage} gives. */
export interface OpenedPage {
  page: Page;
  response: Response | null;
  /** False when the `load` event did not come within the timeout (the page is returned as it is). */
  loaded: boolean;
  /**
   * With `snapshot`, when the page settled quiet: what {@link capturePage} would read at that moment.
   * Absent when the page did not settle quiet (capped, not loaded, settle skipped).
   */
  snapshot?: { html: string; title: string; finalUrl: string };
}

export type NavigationFailure = "timeout" | "browser-closed" | "navigation" | "download";

export class NavigationError extends Error {
  override name = "NavigationError";
  constructor(
    readonly kind: NavigationFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Default of {@link CapturePageOptions.timeoutMs}. */
export const DEFAULT_CAPTURE_TIMEOUT_MS = 10_000;

/** How long a failed navigation waits for the `download` event that explains it (it follows the failure). */
const DOWNLOAD_EVENT_GRACE_MS = 250;

const cancelDownload = (d: Download): void => void d.cancel().catch(() => undefined);

/**
 * Makes a context safe to drive unattended: JavaScript dialogs are dismissed, pop-up windows
 * (with or without `noopener`) closed as soon as they open — except the tab a forEach click item
 * waits for (`takePopups`), which it reads and closes —, and downloads cancelled (the context is
 * made with `acceptDownloads: false`, so nothing is ever written to disk).
 */
export function guardContext(context: BrowserContext): void {
  context.on("page", (page) => {
    page.on("dialog", (dialog) => void dialog.dismiss().catch(() => undefined));
    page.on("download", cancelDownload);
    void page
      .opener()
      .then((opener) => {
        if (opener && !popupWanted(opener)) void page.close().catch(() => undefined);
      })
      .catch(() => undefined);
  });
}

/**
 * Opens `url` in a new page of the context. The document must arrive and parse within `timeoutMs`;
 * a page whose `load` event does not come in that time (an image or script that never arrives) is
 * returned as it is, with `loaded: false`, rather than failed. A loaded page gets a bounded moment
 * to settle (see {@link settlePage}).
 */
export async function openPage(context: BrowserContext, opts: OpenPageOptions): Promise<OpenedPage> {
  if (!isWebUrl(opts.url)) throw new Error(`only http(s) addresses are opened, not ${opts.url.slice(0, 100)}`);
  // A context from the browser pool's warm spares comes with a blank page, its timers already watched.
  const warm = takeWarmPage(context);
  const page = warm ?? (await context.newPage());
  page.on("dialog", (dialog) => void dialog.dismiss().catch(() => undefined));
  // A URL that answers with a file becomes a download (refused), and the navigation fails.
  let download = false;
  page.on("download", (d) => {
    download = true;
    cancelDownload(d);
  });
  page.on("response", (r) => {
    // Navigation requests are never a service worker's, so frame() cannot throw here.
    if (r.request().isNavigationRequest() && r.frame() === page.mainFrame() && isAttachment(r)) download = true;
  });
  // The settle reads the page's pending timeouts; the watch must be in place before its scripts run.
  // Should it fail (the page closing), the navigation below reports why, and a settle still works.
  if (!warm) await watchTimers(page).catch(() => undefined);
  // Counting starts before the navigation, so requests the load starts and leaves open are waited for.
  const tracker = trackRequests(page);
  try {
    const started = Date.now();
    let response: Response | null;
    try {
      response = await page.goto(opts.url, { waitUntil: "domcontentloaded", timeout: opts.timeoutMs });
    } catch (err) {
      if (!download && !(err instanceof errors.TimeoutError) && !page.isClosed()) {
        download = await page.waitForEvent("download", { timeout: DOWNLOAD_EVENT_GRACE_MS }).then(
          () => true,
          () => false,
        );
      }
      throw navigationFailure(context, page, err, { timeoutMs: opts.timeoutMs, download });
    }
    const remaining = Math.max(1, opts.timeoutMs - (Date.now() - started));
    const loaded = await page.waitForLoadState("load", { timeout: remaining }).then(
      () => true,
      (err: unknown) => {
        if (err instanceof errors.TimeoutError) return false;
        throw navigationFailure(context, page, err, { timeoutMs: opts.timeoutMs, download });
      },
    );
    // Script-rendered pages keep fetching and rendering after `load`; wait until they are quiet (capped).
    let snapshot: OpenedPage["snapshot"];
    if (loaded)
      await settlePage(page, {
        tracker,
        maxMs: opts.settleMs ?? DEFAULT_SETTLE_MAX_MS,
        ...(opts.quietMs !== undefined ? { quietMs: opts.quietMs } : {}),
        ...(opts.snapshot ? { onQuietSnapshot: (seen) => (snapshot = { ...seen, finalUrl: page.url() }) } : {}),
      });
    return { page, response, loaded, ...(snapshot ? { snapshot } : {}) };
  } finally {
    tracker.dispose();
  }
}

function isAttachment(r: Response): boolean {
  return /^\s*attachment\b/i.test(r.headers()["content-disposition"] ?? "");
}

function navigationFailure(
  context: BrowserContext,
  page: Page,
  err: unknown,
  opts: { timeoutMs: number; download: boolean },
): NavigationError {
  const browser = context.browser();
  if (browser && !browser.isConnected())
    return new NavigationError("browser-closed", "The browser closed during the page load");
  if (opts.download) {
    return new NavigationError("download", "The URL answered with a file download, not a page; downloads are refused");
  }
  if (err instanceof errors.TimeoutError) {
    return new NavigationError("timeout", `The page did not load within ${opts.timeoutMs} ms`);
  }
  if (page.isClosed()) return new NavigationError("browser-closed", "The page was closed during the load");
  return new NavigationError("navigation", (err as Error).message.split("\n")[0] ?? "Navigation failed");
}

/** Options for {@link capturePage}. */
export interface CapturePageOptions {
  /**
   * Time allowed to read the rendered page. A page whose script spins forever never answers;
   * past this the capture fails with a NavigationError of kind `timeout`. Default 10000 ms.
   */
  timeoutMs?: number;
}

/** The rendered HTML (open shadow roots composed in: `readFlatDocument`) and title of a page, read within a bounded time. */
export async function capturePage(
  page: Page,
  opts: CapturePageOptions = {},
): Promise<{ html: string; title: string; finalUrl: string }> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CAPTURE_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const busy = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new NavigationError(
            "timeout",
            `The page's scripts kept it busy: its content could not be read within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    // The reads stay pending in a hung renderer until the context closes; the race has handled them.
    // The document as rendered (web components' shadow roots composed in) in one round trip; when that
    // read fails (the page broke what it uses, or navigated under it), page.content(), which waits
    // for the new document.
    const html = evaluateInPage(page, readFlatDocument, undefined)
      .catch(() => null)
      .then((flat) => flat ?? page.content());
    const [read, title] = await Promise.race([Promise.all([html, page.title()]), busy]);
    return { html: read, title, finalUrl: page.url() };
  } finally {
    clearTimeout(timer);
  }
}
