import { createProxyPool, parseProxyPool, type ProxyEntry, type UpstreamFailure } from "@orbweaver/browser";
import type { Logger } from "pino";

/**
 * Which upstream proxy each tagged browser context (or fast fetch) goes through. The egress proxy
 * asks `upstreamFor(tag)` on every request; a failing upstream is cooled down in the pool and the
 * tag moves to the next proxy of its country.
 */
export interface ProxyRouter {
  /** false when no configured proxy serves the country. */
  assign(tag: string, country: string | undefined): boolean;
  release(tag: string): void;
  upstreamFor(tag: string): string | undefined;
  onUpstreamError(failure: UpstreamFailure): void;
}

/** @throws Error naming PROXY_POOL and the bad entry, so a bad setting stops the worker with that message. */
export function createProxyRouter(spec: string, log: Logger): ProxyRouter {
  let entries: ProxyEntry[];
  try {
    entries = parseProxyPool(spec);
  } catch (err) {
    throw new Error(`PROXY_POOL: ${(err as Error).message}`);
  }
  const pool = createProxyPool(entries);
  const routes = new Map<string, { country: string | undefined; entry: ProxyEntry | undefined }>();
  const normal = (country: string | undefined) => (country && country !== "global" ? country : undefined);
  return {
    assign(tag, country) {
      const entry = pool.pick(normal(country));
      if (!entry) return false;
      routes.set(tag, { country: normal(country), entry });
      return true;
    },
    release: (tag) => void routes.delete(tag),
    upstreamFor: (tag) => routes.get(tag)?.entry?.url,
    onUpstreamError(failure) {
      // The liveness probe often answers after the URL that met the failure has ended (its route
      // released): the proxy is cooled down all the same, or the next jobs would meet it again.
      const failed = entries.find((e) => e.url === failure.upstreamUrl);
      if (failed) pool.markFailed(failed);
      const route = routes.get(failure.tag);
      if (!route?.entry || route.entry.url !== failure.upstreamUrl) return;
      route.entry = pool.pick(route.country);
      log.warn({ tag: failure.tag, kind: failure.kind, next: route.entry?.label }, "upstream proxy failed; moved on");
    },
  };
}
