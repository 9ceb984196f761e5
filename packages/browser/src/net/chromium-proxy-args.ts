/**
 * Chromium switches and Playwright proxy options that make the egress proxy
 * the only way out.
 *
 * Findings (Chromium 156, playwright-core 1.65; see test/net/egress-chromium-*.test.ts):
 * - Chromium implicitly bypasses any configured proxy for loopback
 *   (localhost, 127/8, [::1]); `<-loopback>` in the bypass list removes that rule.
 * - `--proxy-bypass-list=<-loopback>` at launch only governs the launch-level
 *   proxy. A per-context proxy (`browser.newContext({ proxy })`) gets its own
 *   bypass list through CDP `Target.createBrowserContext`, and the launch flag
 *   does not reach it.
 * - Playwright injects `<-loopback>` into both lists by default, unless
 *   `proxy.bypass` names a loopback host or PLAYWRIGHT_DISABLE_FORCED_CHROMIUM_PROXIED_LOOPBACK
 *   is set; with that env var a per-context proxy silently lets 127.0.0.1 go direct.
 *   Passing `bypass: "<-loopback>"` explicitly (egressProxyFor does) covers
 *   loopback regardless of that default.
 * - Per-context proxies work without a launch-level proxy (no
 *   `proxy: { server: "http://per-context" }` placeholder needed on Linux), but
 *   browser-level traffic then goes direct; launching with the egress proxy too
 *   (e.g. tag "browser") leaves nothing unproxied.
 * - WebRTC: without a policy, STUN to 127.0.0.1 leaves as raw UDP, bypassing
 *   every proxy. `--webrtc-ip-handling-policy=disable_non_proxied_udp` stops it;
 *   the often-quoted `--force-webrtc-ip-handling-policy` is ignored by Chromium 156.
 * - Never add other `bypass` entries: each one is a hole around the checks.
 */

/** WebRTC may only use UDP through a proxy (impossible over HTTP) or TCP through the proxy. */
const WEBRTC_POLICY = "disable_non_proxied_udp";

/**
 * Switches to add to `chromium.launch({ args })`. Merge carefully: Chromium
 * keeps only the last occurrence of a switch, so a later `--proxy-bypass-list`
 * or `--host-resolver-rules` from elsewhere silently replaces these.
 *
 * @param proxyHost host of the egress proxy (default 127.0.0.1); the only name
 *   Chromium's own resolver may answer.
 */
export function chromiumProxyArgs(proxyHost = "127.0.0.1"): string[] {
  return [
    // Send loopback through the proxy instead of around it.
    "--proxy-bypass-list=<-loopback>",
    // Maps to the webrtc.ip_handling_policy pref; the one that works in Chromium 156.
    `--webrtc-ip-handling-policy=${WEBRTC_POLICY}`,
    // Older spelling, ignored by Chromium 156 but harmless; kept for other builds.
    `--force-webrtc-ip-handling-policy=${WEBRTC_POLICY}`,
    // QUIC is UDP and cannot ride an HTTP proxy; Chromium disables it when proxied, belt and braces.
    "--disable-quic",
    // Chromium never needs to resolve names itself when everything is proxied
    // (the proxy resolves). Failing every local lookup stops DNS prefetch /
    // preconnect leaks and makes any path that escapes the proxy fail on names.
    `--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE ${proxyHost}`,
  ];
}

export interface PlaywrightProxy {
  server: string;
  /** Always exactly `<-loopback>`: proxy loopback too, bypass nothing. */
  bypass: string;
  username?: string;
  password?: string;
}

/**
 * `proxy` option for a context (or a launch) whose tag is told by the port: `listenerUrl` from the
 * egress proxy's `listen(tag)`. No credentials, so Playwright leaves the context's requests alone
 * (with proxy credentials it pauses every request over CDP to answer the proxy's challenge).
 */
export function egressProxyAt(listenerUrl: string): PlaywrightProxy {
  return { server: listenerUrl, bypass: "<-loopback>" };
}

/**
 * `proxy` option for `browser.newContext()` (or `chromium.launch()`): the tag
 * rides as the Basic username so the egress proxy can attribute refusals and
 * bytes to a job. The password is ignored by the proxy.
 */
export function egressProxyFor(proxyUrl: string, tag: string): PlaywrightProxy {
  if (tag === "" || tag.includes(":")) throw new Error("egress tag must be non-empty and contain no ':'");
  return { server: proxyUrl, bypass: "<-loopback>", username: tag, password: "x" };
}
