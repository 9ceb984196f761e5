import type dns from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";
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
import { redactUrl } from "./redact-url.ts";
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

/** A port of the egress proxy that belongs to one tag while leased (see {@link EgressProxy.listen}). */
export interface TagListener {
  /** `http://host:port`, for `proxy.server` without credentials. */
  url: string;
  /** Connections accepted from now on are `tag`'s (those accepted before keep theirs). */
  retag(tag: string): void;
  /** Gives the port back; connections made to it from then on are refused until it is leased again. */
  release(): void;
}

export interface EgressProxy {
  port: number;
  /** `http://host:port`, for `proxy.server`; pass the tag as `proxy.username`. */
  url: string;
  /**
   * A port of its own for `tag`: every connection made to it while leased is the tag's, without
   * credentials. For browser contexts: Playwright intercepts every request of a context whose proxy
   * has credentials (a round trip over CDP per request). Release it once the context is closed
   * (a closed context opens no connection); a port is reused for another tag only after that.
   */
  listen(tag: string): Promise<TagListener>;
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
/** Released tag ports kept open for the next lease; more are closed. */
const IDLE_LISTENERS_KEPT = 32;

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
  /** The tag of every connection accepted on a leased port (fixed when accepted). */
  const tagOfSocket = new WeakMap<object, string>();
  const upstreamFailures = createUpstreamFailureReporter({
    probeTimeoutMs: opts.upstreamProbeTimeoutMs,
    onFailure: (f) => {
      log?.warn(
        {
          tag: f.tag,
          upstream: redactProxyUrl(f.upstreamUrl),
          target: redactUrl(f.target),
          kind: f.kind,
          detail: f.detail,
        },
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
        log?.warn({ tag, target: redactUrl(target), reason: res.reason, address: res.address }, "egress refused");
        return { ok: false, status: 403, headers: { [BLOCKED_HEADER]: headerSafe(res.reason) }, reason: res.reason };
      }
      log?.debug?.({ tag, target: redactUrl(target), reason: res.reason }, "egress target not found");
      return { ok: false, status: 502, headers: { "x-orbweaver-error": res.code }, reason: res.reason };
    }
    log?.debug?.({ tag, target: redactUrl(target) }, "egress allowed");
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
      // A connection to a tag's own port is that tag's; on the shared port the tag is the username.
      const tag = tagOfSocket.get(request.socket) ?? username;
      // No credentials yet: challenge, so Playwright sends the context's tag.
      if (tag === "") return { requestAuthentication: true, failMsg: "Proxy credentials required" };
      if (!untrackByConnection.has(connectionId)) {
        // A connection is attributed to the first tag it authenticates with;
        // Chromium keeps a socket pool per context, so tags do not share sockets.
        untrackByConnection.set(
          connectionId,
          ledger.track(tag, () => connectionBytes(connectionId)),
        );
      }
      const target = isHttp ? (request.url ?? `${hostname}:${port}`) : `${hostname}:${port}`;
      const d = await decide(tag, target, hostname, port);
      if (!d.ok) throw new RequestError(d.reason, d.status, d.headers);
      const upstream = d.result.upstreamProxyUrl;
      if (upstream) upstreamFailures.watch(request.socket, tag, upstream, target);
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
      tagOf: (socket) => tagOfSocket.get(socket),
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

  // Tag ports: plain listeners that hand each accepted connection to the proxy's HTTP server, which
  // sees it as one of its own (proxy-chain's connection ids, stats and handlers included).
  const owners = new Map<net.Server, string | null>();
  const idle: net.Server[] = [];
  let closing = false;
  async function openListener(): Promise<net.Server> {
    const listener = net.createServer((socket) => {
      const tag = owners.get(listener);
      if (tag === null || tag === undefined || closing) {
        socket.destroy();
        return;
      }
      tagOfSocket.set(socket, tag);
      server.server.emit("connection", socket);
    });
    await new Promise<void>((resolve, reject) => {
      listener.once("error", reject);
      listener.listen({ host, port: 0 }, () => {
        listener.off("error", reject);
        resolve();
      });
    });
    return listener;
  }
  function closeListener(listener: net.Server): void {
    owners.delete(listener);
    listener.close();
  }

  return {
    port: server.port,
    url: `http://${urlHost}:${server.port}`,
    async listen(tag) {
      if (tag === "") throw new Error("egress tag must be non-empty");
      if (closing) throw new Error("egress proxy is closed");
      const listener = idle.pop() ?? (await openListener());
      owners.set(listener, tag);
      let released = false;
      return {
        url: `http://${urlHost}:${(listener.address() as net.AddressInfo).port}`,
        retag(next) {
          if (next === "") throw new Error("egress tag must be non-empty");
          if (!released) owners.set(listener, next);
        },
        release() {
          if (released) return;
          released = true;
          if (closing || idle.length >= IDLE_LISTENERS_KEPT) {
            closeListener(listener);
            return;
          }
          owners.set(listener, null);
          idle.push(listener);
        },
      };
    },
    async close() {
      closing = true;
      for (const listener of [...owners.keys()]) closeListener(listener);
      idle.length = 0;
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
