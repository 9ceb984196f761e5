import { errors, type BrowserContext, type Page, type Response } from "playwright-core";

/** Options for {@link openPage}. */
export interface OpenPageOptions {
  url: string;
  /** Navigation timeout. */
  timeoutMs: number;
  /** Extra wait for the network to go quiet after `load`, for script-rendered pages. Default 2500 ms. */
  settleMs?: number;
}

export type NavigationFailure = "timeout" | "browser-closed" | "navigation";

export class NavigationError extends Error {
  override name = "NavigationError";
  constructor(
    readonly kind: NavigationFailure,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Makes a context safe to drive unattended: JavaScript dialogs are dismissed and pop-up windows
 * closed as soon as they open (downloads are refused by the context options).
 */
export function guardContext(context: BrowserContext): void {
  context.on("page", (page) => {
    page.on("dialog", (dialog) => void dialog.dismiss().catch(() => undefined));
    void page
      .opener()
      .then((opener) => {
        if (opener) void page.close().catch(() => undefined);
      })
      .catch(() => undefined);
  });
}

/** Opens `url` in a new page of the context and waits for it to load and settle. */
export async function openPage(
  context: BrowserContext,
  opts: OpenPageOptions,
): Promise<{ page: Page; response: Response | null }> {
  const page = await context.newPage();
  page.on("dialog", (dialog) => void dialog.dismiss().catch(() => undefined));
  let response: Response | null;
  try {
    response = await page.goto(opts.url, { waitUntil: "load", timeout: opts.timeoutMs });
  } catch (err) {
    const browser = context.browser();
    if (browser && !browser.isConnected())
      throw new NavigationError("browser-closed", "The browser closed during the page load");
    if (err instanceof errors.TimeoutError) {
      throw new NavigationError("timeout", `The page did not load within ${opts.timeoutMs} ms`);
    }
    if (page.isClosed()) throw new NavigationError("browser-closed", "The page was closed during the load");
    throw new NavigationError("navigation", (err as Error).message.split("\n")[0] ?? "Navigation failed");
  }
  // Script-rendered pages keep fetching after `load`; give them a bounded moment to settle.
  await page.waitForLoadState("networkidle", { timeout: opts.settleMs ?? 2500 }).catch(() => undefined);
  return { page, response };
}

/** The rendered HTML and title of a page. */
export async function capturePage(page: Page): Promise<{ html: string; title: string; finalUrl: string }> {
  const [html, title] = await Promise.all([page.content(), page.title()]);
  return { html, title, finalUrl: page.url() };
}
