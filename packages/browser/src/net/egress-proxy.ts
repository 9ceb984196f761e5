import type dns from "node:dns";
import http from "node:http";
import https from "node:https";
import { RequestError, Server } from "proxy-chain";
import type { PrepareRequestFunctionResult } from "proxy-chain";
import { createPinnedLookup, resolveAndCheckHost, systemLookup } from "./check-url.ts";
import type { LookupFn } from "./check-url.ts";
import { EgressLedger } from "./egress-ledger.ts";
import type { BlockedTarget, ByteCount } from "./egress-ledger.ts";
import { createUpgradeHandler } from "./egress-upgrade.ts";
import type { UpgradeDecision } from "./egress-upgrade.ts";
import type { NetworkPolicy } from "./network-policy.ts";
import { redactProxyUrl } from "../proxies/parse-proxy-pool.ts";
import { createUpstreamFailureReporter } from "../proxies/report-upstream-failure.ts";
import type { UpstreamFailure } from "../proxies/report-upstream-failure.ts";

/*
 * Why proxy-chain: its prepareRequestFunction runs once per CONNECT / proxied
 * request and may return `dnsLookup`, which direct() (CONNECT) and forward()
 * (plain HTTP) pass straight to net.connect / http.request. We resolve and
 * check there, then return a lookup pinned to exactly the checked addresses,
 * so the connect cannot re-resolve to something else (no rebinding gap).
 * IP-literal targets skip lookup in Node, but they were checked as literals.
 * It also gives upstream chaining (http/https/socks) for free; see resolveUpstream.
 *
 * Upstream chaining (proxy-chain 3): CONNECT goes through chain() (http/https
 * upstream, CONNECT to it) or chainSocks() (socks4/5/5h); plain HTTP through
 * forward() (absolute-URI request to the upstream) or forwardSocks(). Byte
 * counts cover both, since proxy-chain counts the upstream socket as the
 * target. proxy-chain signals a failed upstream hop only in the status it
 * writes back, so onUpstreamError is fed by watching that reply (see
 * ../proxies/report-upstream-failure.ts).
 */

export interface EgressLog {
  warn(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

export interface EgressProxyOptions {
  policy: NetworkPolicy;
  /** Listen address. Default 127.0.0.1: the proxy must never be reachable from outside. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  log?: EgressLog;
  /**
   * Extension point: per-tag upstream proxy URL (http://, https://, socks5://...).
   * The local policy check still runs on locally resolved addresses, but the
   * upstream resolves the name again itself and connects from its own network,
   * so pinning only holds for direct connections. Names must still resolve
   * locally (an unresolvable name is refused before the upstream is asked).
   */
  resolveUpstream?: (tag: string) => string | undefined;
  /**
   * Called when a request routed through an upstream found the upstream dead
   * (`unreachable`: connect refused/reset/timed out and a TCP probe fails too)
   * or refusing its credentials (`auth`). Not called when only the target
   * failed behind a healthy upstream. May fire several times per tag (once per
   * failed request); map it to ProxyPool.markFailed and, if the job should go
   * on, to a different upstream for the tag (resolveUpstream is asked again on
   * every request). Default: failures are only logged (warn).
   */
  onUpstreamError?: (failure: UpstreamFailure) => void;
  /** Timeout of the TCP liveness probe that confirms an upstream is down. Default 2000 ms. */
  upstreamProbeTimeoutMs?: number;
  /** DNS override (tests, custom resolvers). Default dns.lookup with all addresses. */
  lookup?: LookupFn;
}

export interface EgressProxy {
  port: number;
  /** `http://host:port`, for `proxy.server`; pass the tag as `proxy.username`. */
  url: string;
  close(): Promise<void>;
  /** Targets refused for this tag (capped sample, oldest first). */
  blocked(tag: string): BlockedTarget[];
  /** Bytes moved to/from targets for this tag, including still-open connections. */
  bytes(tag: string): ByteCount;
  /** Drops all bookkeeping for a tag; call when the job's context is closed. */
  forget(tag: string): void;
}

export const BLOCKED_HEADER = "x-orbweaver-blocked";
/** Idle time after which a pooled target connection is closed rather than reused. */
const IDLE_SOCKET_MS = 4000;
const REALM = "orbweaver";

// Header values must be visible ASCII; hostnames may carry anything a page can type.
function headerSafe(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, "?").slice(0, 512);
}

type Decision =
  | { ok: true; result: PrepareRequestFunctionResult }
  | { ok: false; status: number; headers: Record<string, string>; reason: string };

export async function startEgressProxy(opts: EgressProxyOptions): Promise<EgressProxy> {
  const { policy, log } = opts;
  const lookup = opts.lookup ?? systemLookup;
  const ledger = new EgressLedger();
  // Own agents so close() can drop pooled target sockets (the global agent would keep them).
  // An idle pooled socket is dropped after IDLE_SOCKET_MS: reusing one just as the target closes it
  // (Node and Apache close idle connections after 5 s) fails the request with ECONNRESET (a 595), and
  // Node 20's agent ignores the server's `Keep-Alive: timeout` hint unless a timeout is set.
  const pooled = { keepAlive: true, timeout: IDLE_SOCKET_MS };
  const httpAgent = new http.Agent(pooled);
  const httpsAgent = new https.Agent(pooled);
  // Separate pools for upstream hops, so a pooled socket to a proxy is never reused as a direct target connection.
  const upstreamHttpAgent = new http.Agent(pooled);
  const upstreamHttpsAgent = new https.Agent(pooled);
  const untrackByConnection = new Map<number, (final?: ByteCount) => void>();
  const upstreamFailures = createUpstreamFailureReporter({
    probeTimeoutMs: opts.upstreamProbeTimeoutMs,
    onFailure: (f) => {
      log?.warn(
        { tag: f.tag, upstream: redactProxyUrl(f.upstreamUrl), target: f.target, kind: f.kind, detail: f.detail },
        "upstream proxy failed",
      );
      opts.onUpstreamError?.(f);
    },
  });

  async function decide(tag: string, target: string, hostname: string, port: number): Promise<Decision> {
    const res = await resolveAndCheckHost(hostname, port, policy, lookup);
    if (!res.ok) {
      if (res.code === "FORBIDDEN_ADDRESS") {
        ledger.recordBlocked(tag, target, res.reason);
        log?.warn({ tag, target, reason: res.reason }, "egress refused");
        return { ok: false, status: 403, headers: { [BLOCKED_HEADER]: headerSafe(res.reason) }, reason: res.reason };
      }
      log?.debug?.({ tag, target, reason: res.reason }, "egress target not found");
      return { ok: false, status: 502, headers: { "x-orbweaver-error": res.code }, reason: res.reason };
    }
    log?.debug?.({ tag, target }, "egress allowed");
    const upstream = opts.resolveUpstream?.(tag);
    if (upstream !== undefined && upstream !== "") {
      if (!isSupportedUpstream(upstream)) {
        log?.warn({ tag, upstream: redactProxyUrl(upstream) }, "unusable upstream proxy URL");
        return { ok: false, status: 502, headers: { "x-orbweaver-error": "UPSTREAM_INVALID" }, reason: "bad upstream" };
      }
      // No dnsLookup with an upstream: proxy-chain would use it to reach the upstream itself.
      return {
        ok: true,
        result: {
          upstreamProxyUrl: upstream,
          httpAgent: upstreamHttpAgent,
          httpsAgent: upstreamHttpsAgent,
          customTag: tag,
        },
      };
    }
    const pinned = createPinnedLookup(res.addresses) as unknown as (typeof dns)["lookup"];
    return { ok: true, result: { dnsLookup: pinned, httpAgent, httpsAgent, customTag: tag } };
  }

  const server = new Server({
    host: opts.host ?? "127.0.0.1",
    port: opts.port ?? 0,
    authRealm: REALM,
    prepareRequestFunction: async ({ connectionId, request, username, hostname, port, isHttp }) => {
      // No credentials yet: challenge, so Playwright sends the context's tag.
      if (username === "") return { requestAuthentication: true, failMsg: "Proxy credentials required" };
      if (!untrackByConnection.has(connectionId)) {
        // A connection is attributed to the first tag it authenticates with;
        // Chromium keeps a socket pool per context, so tags do not share sockets.
        untrackByConnection.set(
          connectionId,
          ledger.track(username, () => connectionBytes(connectionId)),
        );
      }
      const target = isHttp ? (request.url ?? `${hostname}:${port}`) : `${hostname}:${port}`;
      const d = await decide(username, target, hostname, port);
      if (!d.ok) throw new RequestError(d.reason, d.status, d.headers);
      const upstream = d.result.upstreamProxyUrl;
      if (upstream) upstreamFailures.watch(request.socket, username, upstream, target);
      return d.result;
    },
  });

  function connectionBytes(id: number): ByteCount {
    const s = server.getConnectionStats(id);
    return { sent: s?.trgTxBytes ?? 0, received: s?.trgRxBytes ?? 0 };
  }

  server.on(
    "connectionClosed",
    ({
      connectionId,
      stats,
    }: {
      connectionId: number;
      stats?: { trgTxBytes: number | null; trgRxBytes: number | null };
    }) => {
      const untrack = untrackByConnection.get(connectionId);
      if (untrack === undefined) return;
      untrackByConnection.delete(connectionId);
      untrack({ sent: stats?.trgTxBytes ?? 0, received: stats?.trgRxBytes ?? 0 });
    },
  );

  server.server.on(
    "upgrade",
    createUpgradeHandler({
      realm: REALM,
      track: (tag, read) => ledger.track(tag, read),
      decide: async (tag, target, hostname, port): Promise<UpgradeDecision> => {
        const d = await decide(tag, target, hostname, port);
        if (!d.ok) return d;
        if (d.result.upstreamProxyUrl) {
          return {
            ok: false,
            status: 502,
            headers: {},
            reason: "WebSocket upgrades through an upstream proxy are not supported; use CONNECT",
          };
        }
        return { ok: true, lookup: d.result.dnsLookup as unknown as UpgradeLookup };
      },
    }),
  );

  await server.listen();
  const host = opts.host ?? "127.0.0.1";
  const urlHost = host.includes(":") ? `[${host}]` : host;

  return {
    port: server.port,
    url: `http://${urlHost}:${server.port}`,
    async close() {
      upstreamFailures.stop();
      await server.close(true);
      httpAgent.destroy();
      httpsAgent.destroy();
      upstreamHttpAgent.destroy();
      upstreamHttpsAgent.destroy();
    },
    blocked: (tag) => ledger.blocked(tag),
    bytes: (tag) => ledger.bytes(tag),
    forget: (tag) => {
      ledger.forget(tag);
    },
  };
}

type UpgradeLookup = Extract<UpgradeDecision, { ok: true }>["lookup"];

const UPSTREAM_SCHEMES = new Set(["http:", "https:", "socks:", "socks4:", "socks4a:", "socks5:", "socks5h:"]);

// proxy-chain would throw a plain Error (answered 500) for these; refuse them as a bad gateway instead.
function isSupportedUpstream(url: string): boolean {
  try {
    const u = new URL(url);
    return UPSTREAM_SCHEMES.has(u.protocol) && u.hostname !== "";
  } catch {
    return false;
  }
}
