export { EU_COUNTRY_CODES, ISO_COUNTRY_CODES, PROXY_REGIONS, isKnownCountryCode } from "./country-codes.ts";
export { createProxyPool, parseProxyPool, ProxyPoolError, redactProxyUrl } from "./proxy-pool.ts";
export type { ProxyEntry, ProxyPool, ProxyPoolOptions } from "./proxy-pool.ts";
export type { UpstreamFailure, UpstreamFailureKind } from "./report-upstream-failure.ts";
export { describeHopFailure } from "./describe-hop-failure.ts";
