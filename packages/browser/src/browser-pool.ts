import { randomUUID } from "node:crypto";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { BASE_CHROMIUM_ARGS } from "./chromium-args.ts";
import { findBrowserPid } from "./find-browser-process.ts";
import { chromiumProxyArgs, egressProxyAt } from "./net/chromium-proxy-args.ts";
import type { EgressProxy, TagListener } from "./net/egress-proxy.ts";
import { offerWarmPage } from "./warm-pages.ts";
import { watchTimers } from "./watch-timers.ts";

/** Default of {@link BrowserPoolOptions.recycleAfterContexts} (BROWSER_RECYCLE_PAGES). */
export const DEFAULT_RECYCLE_AFTER_CONTEXTS = 500;
/** Default of {@link BrowserPoolOptions.warmContexts} (BROWSER_WARM_CONTEXTS). */
export const DEFAULT_WARM_CONTEXTS = 1;
/** Default of {@link BrowserPoolOptions.retireTimeoutMs}. */
export const DEFAULT_RETIRE_TIMEOUT_MS = 300_000;

/** Options for {@link BrowserPool}. */
export interface BrowserPoolOptions {
  /** Chromium binary. Default /usr/bin/chromium (CHROMIUM_PATH). */
  executablePath: string;
  /**
   * Egress proxy every request goes through (the SSRF guard); required in production. Each context
   * (and the browser itself, tag `browser`) gets a port of its own, which tells the proxy its tag.
   */
  egress?: Pick<EgressProxy, "listen">;
  /**
   * Retire the browser once it has served this many contexts (one per page load), to bound the
   * memory Chromium accumulates: new contexts go to a fresh browser at once and the old one closes
   * when its last context does. 0 never recycles. Default 500 (BROWSER_RECYCLE_PAGES).
   */
  recycleAfterContexts?: number;
  /**
   * A retired browser whose contexts are still open after this long is closed anyway (their jobs
   * see a browser crash and are retried). Jobs are bounded far below it. Default 300000 ms.
   */
  retireTimeoutMs?: number;
  /**
   * Contexts kept made ahead, each with a blank page (its renderer started, the timer watch in
   * place), so a page load does not wait ~100 ms for them. A spare is made when a context the pool
   * handed out closes, on the browser then current; a retired or crashed browser's spares are
   * dropped. 0 makes every context on demand. Default 1 (BROWSER_WARM_CONTEXTS).
   */
  warmContexts?: number;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/** Counters for tests and diagnostics. */
export interface BrowserPoolStats {
  /** Chromium launches (first start, relaunches after crashes, recycling). */
  launches: number;
  /** Browsers retired because they reached `recycleAfterContexts`. */
  recycles: number;
  /** Contexts made, over the pool's life. */
  contexts: number;
  /** Contexts the current browser has served. */
  contextsOnCurrentBrowser: number;
  /** Retired browsers still finishing their last contexts. */
  retiring: number;
  /** Contexts handed out that had been made ahead (warm spares). */
  warmServed: number;
  /** Contexts handed out and not closed yet (warm spares waiting are not counted). */
  openContexts: number;
}

/** A context made ahead, with its blank page and its egress port (tagged `warm` until handed out). */
interface Spare {
  browser: Browser;
  ready: Promise<{ context: BrowserContext; page: Page; port: TagListener | undefined } | null>;
}

/**
 * One Chromium per worker process, one fresh context per job (cookies and storage never shared).
 * A crashed or disconnected browser is relaunched on the next request; a browser that served
 * `recycleAfterContexts` contexts is replaced without waiting for running jobs.
 */
export class BrowserPool {
  private browser: Browser | null = null;
  private launching: Promise<Browser> | null = null;
  private contextsServed = 0;
  private closed = false;
  /** Contexts open or being made, per browser, so a retired browser closes only once it is idle. */
  private readonly inUse = new Map<Browser, number>();
  /** Retired browsers and the timer that closes them at the latest. */
  private readonly retired = new Map<Browser, NodeJS.Timeout>();
  private readonly counters = { launches: 0, recycles: 0, contexts: 0, warmServed: 0 };
  private spares: Spare[] = [];
  private openContexts = 0;
  private launchMarker = "";

  constructor(private readonly opts: BrowserPoolOptions) {}

  /** Inert switch that marks this pool's Chromium processes (see findBrowserPid). */
  readonly marker = `--orbweaver-pool=${randomUUID()}`;

  /** PID of the running Chromium main process, if any (for tests and diagnostics). */
  async pid(): Promise<number | undefined> {
    if (!this.browser?.isConnected()) return undefined;
    // Each launch carries its own switch too, so a retiring browser is never mistaken for the current one.
    return findBrowserPid(this.launchMarker);
  }

  stats(): BrowserPoolStats {
    return {
      ...this.counters,
      contextsOnCurrentBrowser: this.contextsServed,
      openContexts: this.openContexts,
      retiring: this.retired.size,
    };
  }

  private async launch(): Promise<Browser> {
    const launchMarker = `--orbweaver-launch=${randomUUID()}`;
    const args = [...BASE_CHROMIUM_ARGS, this.marker, launchMarker, ...(this.opts.egress ? chromiumProxyArgs() : [])];
    // Browser-level traffic is proxied too, so nothing leaves unchecked.
    const port = await this.opts.egress?.listen("browser");
    let browser: Browser;
    try {
      browser = await chromium.launch({
        executablePath: this.opts.executablePath,
        headless: true,
        args,
        // The worker shuts Chromium down itself after running jobs finish (graceful SIGTERM).
        handleSIGTERM: false,
        handleSIGINT: false,
        handleSIGHUP: false,
        ...(port ? { proxy: egressProxyAt(port.url) } : {}),
      });
    } catch (err) {
      port?.release();
      throw err;
    }
    if (port) browser.once("disconnected", () => port.release());
    this.launchMarker = launchMarker;
    this.counters.launches += 1;
    browser.on("disconnected", () => {
      this.inUse.delete(browser);
      const backstop = this.retired.get(browser);
      if (backstop !== undefined) {
        // A retired browser closing is the plan, not a crash.
        clearTimeout(backstop);
        this.retired.delete(browser);
        return;
      }
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
   * bytes can be attributed to the job). Downloads are refused. A warm spare is handed out when one
   * is ready on the current browser (its blank page is taken by `openPage`).
   */
  async newContext(tag: string): Promise<BrowserContext> {
    this.retireIfDue();
    const browser = await this.getBrowser();
    this.contextsServed += 1;
    this.counters.contexts += 1;
    const spare = await this.takeSpare(browser);
    let context: BrowserContext;
    if (spare) {
      spare.port?.retag(tag);
      this.counters.warmServed += 1;
      offerWarmPage(spare.context, spare.page);
      context = spare.context;
    } else context = (await this.makeContext(browser, tag)).context;
    this.openContexts += 1;
    context.once("close", () => {
      this.openContexts -= 1;
      this.refill();
    });
    return context;
  }

  /**
   * A context on `browser` behind its own egress port; the browser is held until the context closes.
   * The port is released when the context closes (or here, when it could not be made).
   */
  private async makeContext(browser: Browser, tag: string): Promise<{ context: BrowserContext; port?: TagListener }> {
    this.hold(browser);
    let context: BrowserContext;
    let port: TagListener | undefined;
    try {
      port = await this.opts.egress?.listen(tag);
      // A browser killed while the context is being made must not leave the caller waiting forever.
      context = await raceDisconnect(
        browser,
        browser.newContext({
          acceptDownloads: false,
          viewport: { width: 1280, height: 800 },
          ...(port ? { proxy: egressProxyAt(port.url) } : {}),
        }),
      );
    } catch (err) {
      // A context that was made after all (the race lost) never serves a request: its browser is gone.
      port?.release();
      this.release(browser);
      throw err;
    }
    context.once("close", () => {
      port?.release();
      this.release(browser);
    });
    return { context, ...(port ? { port } : {}) };
  }

  /** The first ready spare of `browser`; spares of other browsers are dropped. */
  private async takeSpare(
    browser: Browser,
  ): Promise<{ context: BrowserContext; page: Page; port: TagListener | undefined } | null> {
    while (this.spares.length > 0) {
      const spare = this.spares.shift() as Spare;
      const ready = await raceDisconnect(spare.browser, spare.ready).catch(() => null);
      if (!ready) continue;
      if (spare.browser === browser && browser.isConnected() && !ready.page.isClosed()) return ready;
      void ready.context.close().catch(() => undefined);
    }
    return null;
  }

  /** Makes spares on the current browser until there are `warmContexts` of them. */
  private refill(): void {
    const want = this.opts.warmContexts ?? DEFAULT_WARM_CONTEXTS;
    const browser = this.browser;
    if (this.closed || !browser?.isConnected()) return;
    while (this.spares.length < want) {
      const ready = this.makeContext(browser, "warm").then(
        async ({ context, port }) => {
          try {
            const page = await raceDisconnect(browser, context.newPage());
            await raceDisconnect(browser, watchTimers(page));
            return { context, page, port };
          } catch {
            void context.close().catch(() => undefined);
            return null;
          }
        },
        () => null,
      );
      this.spares.push({ browser, ready });
    }
  }

  /** Closes the spares made on `browser` (retired) or on any browser (the pool closing). */
  private dropSpares(browser?: Browser): void {
    const dropped = this.spares.filter((s) => browser === undefined || s.browser === browser);
    this.spares = this.spares.filter((s) => !dropped.includes(s));
    for (const s of dropped) void s.ready.then((r) => r?.context.close().catch(() => undefined));
  }

  private hold(browser: Browser): void {
    this.inUse.set(browser, (this.inUse.get(browser) ?? 0) + 1);
  }

  private release(browser: Browser): void {
    const left = (this.inUse.get(browser) ?? 1) - 1;
    if (left > 0) {
      this.inUse.set(browser, left);
      return;
    }
    this.inUse.delete(browser);
    if (this.retired.has(browser)) void browser.close().catch(() => undefined);
  }

  /** Hands new contexts to a fresh browser once this one has served its share; it closes when idle. */
  private retireIfDue(): void {
    const limit = this.opts.recycleAfterContexts ?? DEFAULT_RECYCLE_AFTER_CONTEXTS;
    const old = this.browser;
    if (!old || limit <= 0 || this.contextsServed < limit) return;
    this.browser = null;
    this.counters.recycles += 1;
    this.dropSpares(old);
    const backstop = setTimeout(
      () => void old.close().catch(() => undefined),
      this.opts.retireTimeoutMs ?? DEFAULT_RETIRE_TIMEOUT_MS,
    );
    backstop.unref();
    this.retired.set(old, backstop);
    const open = this.inUse.get(old) ?? 0;
    this.opts.log?.info({ contextsServed: this.contextsServed, stillOpen: open }, "recycling chromium");
    if (open === 0) void old.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.dropSpares();
    const b = this.browser ?? (await this.launching?.catch(() => null)) ?? null;
    this.browser = null;
    const retired = [...this.retired.keys()];
    await Promise.all([b, ...retired].map((x) => x?.close().catch(() => undefined)));
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
