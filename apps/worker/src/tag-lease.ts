import type { BrowserContext } from "playwright-core";
import type { WorkerContext } from "./worker-context.ts";

/** The life of one page load's egress tag (see {@link leaseTag}). */
export interface TagLease {
  /** Closes the load's browser context without making the caller wait for it. */
  closeLater(context: BrowserContext): void;
  /** The load is over: its tag's bookkeeping and upstream route end now, or once its context has closed. */
  end(): void;
}

/**
 * A URL's answer does not wait for its browser context to close (tens to hundreds of milliseconds
 * of Chromium tearing down its pages). Until the context is closed its pages can still send
 * requests (a beacon on unload), and those must still go through the URL's upstream proxy and
 * count against its tag, so the tag's egress bookkeeping and proxy route end only after the close.
 * The browser pool keeps the context as in use until then (recycling and shutdown wait for it).
 */
export function leaseTag(ctx: WorkerContext, tag: string): TagLease {
  let closing: Promise<void> | undefined;
  const free = (): void => {
    ctx.egress.forget(tag);
    ctx.proxies.release(tag);
  };
  return {
    closeLater(context) {
      closing = context.close().catch(() => undefined);
    },
    end() {
      if (closing) void closing.then(free);
      else free();
    },
  };
}
