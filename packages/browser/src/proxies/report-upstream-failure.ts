import net from "node:net";
import type { Socket } from "node:net";
import { watchProxyReply } from "./watch-proxy-reply.ts";
import type { ProxyReply } from "./watch-proxy-reply.ts";

/**
 * Why an upstream proxy is considered failed:
 * - `unreachable`: our hop to the upstream failed (refused, reset, timed out,
 *   name not found, SOCKS handshake failed) and a fresh TCP connect to it fails too;
 * - `auth`: the upstream rejected its credentials (407 / SOCKS auth failure).
 */
export type UpstreamFailureKind = "unreachable" | "auth";

export interface UpstreamFailure {
  /** Egress tag (job) whose request hit the failure. */
  tag: string;
  /** The URL resolveUpstream returned, credentials included, so it maps back to a pool entry. */
  upstreamUrl: string;
  /** `host:port` (CONNECT) or absolute URL (plain HTTP) the request was for. */
  target: string;
  kind: UpstreamFailureKind;
  /** Status and reason proxy-chain answered, plus the probe error; no credentials. */
  detail: string;
}

export interface UpstreamFailureReporterOptions {
  onFailure: (failure: UpstreamFailure) => void;
  /** TCP connect timeout of the liveness probe. Default 2000 ms. */
  probeTimeoutMs?: number;
}

export interface UpstreamFailureReporter {
  /** Arms the check for one request routed to `upstreamUrl`; call from prepareRequestFunction. */
  watch(socket: Socket, tag: string, upstreamUrl: string, target: string): void;
  /** Drops reports still pending (probes in flight) after the egress proxy closed. */
  stop(): void;
}

// Statuses proxy-chain writes when *its* hop to the upstream failed (ETIMEDOUT,
// ENOTFOUND, ECONNREFUSED, ECONNRESET, EPIPE, generic / SOCKS error). An upstream
// relaying the target's failure can produce the same codes on plain HTTP, hence the probe.
const HOP_FAILED = new Set([504, 593, 594, 595, 596, 599]);
const AUTH_FAILED = 597;

const DEFAULT_PORTS: Record<string, number> = { "http:": 80, "https:": 443 };

function hostPort(upstreamUrl: string): { host: string; port: number } | undefined {
  try {
    const u = new URL(upstreamUrl);
    const host = u.hostname.replace(/^\[|\]$/g, "");
    const port = u.port !== "" ? Number(u.port) : (DEFAULT_PORTS[u.protocol] ?? 1080);
    return { host, port };
  } catch {
    return undefined;
  }
}

/** Resolves to undefined when a TCP connection to the upstream opens, else to the error text. */
function probe(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    // A probe must never keep the process (or a closing test) alive.
    socket.unref();
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(`no TCP connection within ${timeoutMs} ms`);
    });
    socket.once("connect", () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/**
 * Decides, per upstream-routed request, whether the upstream itself failed.
 * A 59x/504 reply or a socket closed before any reply is only a suspicion (the
 * target may be what failed); a liveness probe to the upstream's host:port
 * confirms it. Concurrent suspicions about one upstream share one probe. The
 * probe goes to the operator-configured proxy address, never to a target, so
 * it is outside the SSRF policy on purpose.
 */
export function createUpstreamFailureReporter(opts: UpstreamFailureReporterOptions): UpstreamFailureReporter {
  const timeoutMs = opts.probeTimeoutMs ?? 2000;
  const inFlight = new Map<string, Promise<string | undefined>>();
  let stopped = false;

  const report = (f: UpstreamFailure): void => {
    if (!stopped) opts.onFailure(f);
  };

  const probeShared = (host: string, port: number): Promise<string | undefined> => {
    const key = `${host}:${port}`;
    let p = inFlight.get(key);
    if (p === undefined) {
      p = probe(host, port, timeoutMs).finally(() => inFlight.delete(key));
      inFlight.set(key, p);
    }
    return p;
  };

  const judge = async (reply: ProxyReply, tag: string, upstreamUrl: string, target: string): Promise<void> => {
    const said = reply.status === undefined ? reply.reason : `${reply.status} ${reply.reason}`.trim();
    if (reply.status === AUTH_FAILED) {
      report({ tag, upstreamUrl, target, kind: "auth", detail: said });
      return;
    }
    if (reply.status !== undefined && !HOP_FAILED.has(reply.status)) return;
    const hp = hostPort(upstreamUrl);
    if (hp === undefined) return;
    const probeError = await probeShared(hp.host, hp.port);
    if (probeError !== undefined) {
      report({ tag, upstreamUrl, target, kind: "unreachable", detail: `${said}; probe: ${probeError}` });
    }
  };

  return {
    watch(socket, tag, upstreamUrl, target) {
      watchProxyReply(socket, (reply) => void judge(reply, tag, upstreamUrl, target));
    },
    stop() {
      stopped = true;
    },
  };
}
