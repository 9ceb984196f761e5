export type { NetworkPolicy } from "./network-policy.ts";
export { DEFAULT_NETWORK_POLICY, isHostAllowedByException } from "./network-policy.ts";
export { classifyAddress, describeRange } from "./ip-ranges.ts";
export { checkTargetUrl, createGuardedLookup, systemLookup } from "./check-url.ts";
export { redactUrl } from "./redact-url.ts";
export type { UrlCheck, UrlCheckCode, LookupFn } from "./check-url.ts";
export { startEgressProxy, BLOCKED_HEADER } from "./egress-proxy.ts";
export type { EgressProxy, EgressProxyOptions, EgressLog, TagListener } from "./egress-proxy.ts";
export { chromiumProxyArgs, egressProxyAt, egressProxyFor } from "./chromium-proxy-args.ts";
