import { randomUUID } from "node:crypto";
import { chromium, type Browser, type BrowserContext } from "playwright-core";
import { BASE_CHROMIUM_ARGS } from "./chromium-args.ts";
import { findBrowserPid } from "./find-browser-process.ts";
import { chromiumProxyArgs, egressProxyFor } from "./net/chromium-proxy-args.ts";

/** Options for {@link BrowserPool}. */
export interface BrowserPoolOptions {
  /** Chromium binary. Default /usr/bin/chromium (CHROMIUM_PATH). */
  executablePath: string;
  /** Egress proxy every request goes through (the SSRF guard); required in production. */
  proxyUrl?: string;
  /** Recycle the browser after this many contexts, to bound memory. Default 200. */
  recycleAfterContexts?: number;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/**
 * One Chromium per worker process, one fresh context per job (cookies and storage never shared).
 * A crashed or disconnected browser is relaunched on the next request.
 */
export class BrowserPool {
  private browser: Browser | null = null;
  private launching: Promise<Browser> | null = null;
  private contextsServed = 0;
  private closed = false;

  constructor(private readonly opts: BrowserPoolOptions) {}

  /** Inert switch that marks this pool's Chromium processes (see findBrowserPid). */
  readonly marker = `--orbweaver-pool=${randomUUID()}`;

  /** PID of the running Chromium main process, if any (for tests and diagnostics). */
  async pid(): Promise<number | undefined> {
    if (!this.browser?.isConnected()) return undefined;
    return findBrowserPid(this.marker);
  }

  private async launch(): Promise<Browser> {
    const args = [...BASE_CHROMIUM_ARGS, this.marker, ...(this.opts.proxyUrl ? chromiumProxyArgs() : [])];
    const browser = await chromium.launch({
      executablePath: this.opts.executablePath,
      headless: true,
      args,
      // The worker shuts Chromium down itself after running jobs finish (graceful SIGTERM).
      handleSIGTERM: false,
      handleSIGINT: false,
      handleSIGHUP: false,
      // Browser-level traffic is proxied too, so nothing leaves unchecked.
      ...(this.opts.proxyUrl ? { proxy: egressProxyFor(this.opts.proxyUrl, "browser") } : {}),
    });
    browser.on("disconnected", () => {
      if (this.browser === browser) this.browser = null;
      if (!this.closed) this.opts.log?.warn({}, "chromium disconnected; it will be relaunched");
    });
    this.opts.log?.info({ executablePath: this.opts.executablePath }, "chromium launched");
    return browser;
  }

  async getBrowser(): Promise<Browser> {
    if (this.closed) throw new Error("browser pool is closed");
    if (this.browser?.isConnected()) return this.browser;
    if (!this.launching) {
      this.launching = this.launch()
        .then((b) => {
          this.browser = b;
          this.contextsServed = 0;
          return b;
        })
        .finally(() => {
          this.launching = null;
        });
    }
    return this.launching;
  }

  /**
   * A new isolated context whose traffic is tagged `tag` at the egress proxy (so blocked requests and
   * bytes can be attributed to the job). Downloads are refused.
   */
  async newContext(tag: string): Promise<BrowserContext> {
    await this.maybeRecycle();
    const browser = await this.getBrowser();
    this.contextsServed += 1;
    // A browser killed while the context is being made must not leave the caller waiting forever.
    const context = await raceDisconnect(
      browser,
      browser.newContext({
        acceptDownloads: false,
        viewport: { width: 1280, height: 800 },
        ...(this.opts.proxyUrl ? { proxy: egressProxyFor(this.opts.proxyUrl, tag) } : {}),
      }),
    );
    return context;
  }

  /** Relaunch once the browser has served many contexts and none is open any more. */
  private async maybeRecycle(): Promise<void> {
    const limit = this.opts.recycleAfterContexts ?? 200;
    const b = this.browser;
    if (b && this.contextsServed >= limit && b.contexts().length === 0) {
      this.browser = null;
      await b.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const b = this.browser ?? (await this.launching?.catch(() => null)) ?? null;
    this.browser = null;
    await b?.close().catch(() => undefined);
  }
}

export class BrowserDisconnectedError extends Error {
  override name = "BrowserDisconnectedError";
  constructor() {
    super("The browser closed during the scrape");
  }
}

/**
 * Settles with `work`, or rejects with BrowserDisconnectedError as soon as the browser goes away:
 * a protocol call in flight when Chromium is killed can otherwise wait forever.
 */
export function raceDisconnect<T>(browser: Browser | null, work: Promise<T>): Promise<T> {
  if (!browser) return work;
  if (!browser.isConnected()) {
    work.catch(() => undefined);
    return Promise.reject(new BrowserDisconnectedError());
  }
  let onGone: (() => void) | undefined;
  const gone = new Promise<never>((_, reject) => {
    onGone = () => reject(new BrowserDisconnectedError());
    browser.once("disconnected", onGone);
  });
  return Promise.race([work, gone]).finally(() => {
    if (onGone) browser.off("disconnected", onGone);
    work.catch(() => undefined);
  });
}
