import { guardContext, limitContext, type LimitedContext } from "@orbweaver/browser";
import type { BrowserContext } from "playwright-core";
import { TransientJobError, type WorkerContext } from "./worker-context.ts";

/** A browser context for one page, guarded and held to its limits. */
export interface LimitedPageContext {
  context: BrowserContext;
  limits: LimitedContext;
}

/**
 * A new guarded context for the page loaded under `tag`, closed when the browser's own downloads for
 * it pass MAX_PAGE_BYTES or when `deadline` (epoch ms) passes. The tag's count may already hold an
 * HTTP-first attempt's bytes; only what the browser downloads from here on counts. A browser that
 * cannot give a context is the worker's trouble, not the page's: a {@link TransientJobError}.
 */
export async function openLimitedContext(
  ctx: WorkerContext,
  tag: string,
  deadline: number,
): Promise<LimitedPageContext> {
  const context = await ctx.pool.newContext(tag).catch((err: Error) => {
    // Playwright's launch error holds Chromium's command line, its logs, the executable and profile
    // paths and the egress proxy's port: the operator's to read (logged here, since a transient
    // failure is not logged where it settles), never the client's (it becomes the job's `error`).
    ctx.log.warn({ err, tag }, "could not start the browser");
    throw new TransientJobError("Could not start the browser");
  });
  guardContext(context);
  const before = ctx.egress.bytes(tag).received;
  const limits = limitContext(context, {
    bytesReceived: () => ctx.egress.bytes(tag).received - before,
    maxBytes: ctx.config.jobs.maxPageBytes,
    deadline,
  });
  return { context, limits };
}
