import { leaseTag } from "../tag-lease.ts";
import type { WorkerContext } from "../worker-context.ts";
import {
  guardedRequest,
  GuardedRequestError,
  type GuardedRequestOptions,
  type GuardedResponse,
} from "./guarded-request.ts";

/** How a crawl makes its requests that are not page loads (robots.txt, sitemaps). */
export type SideRequest = (opts: GuardedRequestOptions) => Promise<GuardedResponse>;

/** A crawl's side requests and the proxy bytes they moved. */
export interface CrawlSideRequests {
  request: SideRequest;
  /** Proxy bytes moved since the last call (added to the next page's count, which the bill sums). */
  takeProxyBytes(): number;
}

/**
 * A crawl without a proxy reads robots.txt and sitemaps directly (SSRF-guarded). A proxied crawl
 * reads them as it loads its pages: through the egress proxy on an upstream proxy of its country,
 * so the site sees the proxy's address only and the proxy bytes are billed with the crawl's.
 */
export function crawlSideRequests(
  ctx: WorkerContext,
  crawl: { id: string; useProxy: boolean; proxyCountry: string | null },
): CrawlSideRequests {
  if (!crawl.useProxy) return { request: guardedRequest, takeProxyBytes: () => 0 };
  const country = crawl.proxyCountry ?? undefined;
  let bytes = 0;
  let sent = 0;
  return {
    async request(opts) {
      const tag = `${crawl.id}.side${sent++}`;
      if (!ctx.proxies.assign(tag, country)) {
        throw new GuardedRequestError(`No proxy is available for country "${country ?? "global"}"`);
      }
      const lease = leaseTag(ctx, tag);
      try {
        return await guardedRequest({ ...opts, egress: { proxyUrl: ctx.egress.url, tag } });
      } finally {
        const moved = ctx.egress.bytes(tag);
        bytes += moved.sent + moved.received;
        lease.end();
      }
    },
    takeProxyBytes() {
      const taken = bytes;
      bytes = 0;
      return taken;
    },
  };
}
