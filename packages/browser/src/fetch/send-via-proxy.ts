import http from "node:http";
import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import net from "node:net";
import tls from "node:tls";
import { BLOCKED_HEADER } from "../net/egress-proxy.ts";
import { describeHopFailure } from "../proxies/describe-hop-failure.ts";

/*
 * One request hop through the egress proxy, the same way Chromium talks to it:
 * plain http:// as an absolute-URI request (forward mode), https:// through a
 * CONNECT tunnel with TLS on top. Forward mode for http keeps upstream proxies
 * that only allow CONNECT to 443 (Squid's default) working, like the browser.
 * Every hop opens a new connection (agent: false, Connection: close) so the
 * proxy attributes it to this tag and nothing lingers in a pool.
 */

export type HopResult =
  { ok: true; response: IncomingMessage } | { ok: false; kind: "blocked" | "network"; message: string };

export interface SendHopOptions {
  url: URL;
  /** The egress proxy, `http://host:port`. */
  proxy: URL;
  /** Attribution tag, sent as the proxy Basic-auth username. */
  tag: string;
  /** Request headers for the target (Host is added here). */
  headers: OutgoingHttpHeaders;
  /** Aborting destroys every socket of the hop, including a response still being read. */
  signal: AbortSignal;
  /** Extra trusted CA certificates (PEM); default: Node's bundled roots only. */
  ca?: string | string[];
}

const REFUSAL_ERROR_HEADER = "x-orbweaver-error";
/** Chromium accepts response headers up to 256 KiB (Node's default is 16 KiB: a big CSP or cookie set fails). */
const MAX_HEADER_BYTES = 256 * 1024;

function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

function defaultPort(url: URL): number {
  if (url.port !== "") return Number(url.port);
  return url.protocol === "https:" ? 443 : 80;
}

function proxyAuth(tag: string): string {
  // Any password is accepted; the username is the tag.
  return `Basic ${Buffer.from(`${tag}:x`).toString("base64")}`;
}

/**
 * Maps a response produced by the proxy itself (refusal, unresolvable host,
 * failed connect) to a failure; undefined when the response is the target's.
 * proxy-chain reports target connect errors in forward mode as 590-599,
 * codes no real site uses, so that range is read as a network failure.
 */
function proxyRefusal(res: IncomingMessage, target: string): HopResult | undefined {
  const status = res.statusCode ?? 0;
  const blocked = res.headers[BLOCKED_HEADER];
  if (status === 403 && typeof blocked === "string") {
    return { ok: false, kind: "blocked", message: `egress proxy refused ${target}: ${blocked}` };
  }
  if (status === 407) return { ok: false, kind: "network", message: "egress proxy refused the credentials (407)" };
  const code = res.headers[REFUSAL_ERROR_HEADER];
  if (typeof code === "string") return { ok: false, kind: "network", message: `egress proxy: ${code} (${target})` };
  const hop = describeHopFailure(status);
  if (hop !== undefined)
    return { ok: false, kind: "network", message: `could not reach ${target}: ${hop} (${status})` };
  return undefined;
}

function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message}` : String(e.message ?? err);
}

/** Sends one GET through the egress proxy; resolves when response headers arrive. */
export function sendViaProxy(opts: SendHopOptions): Promise<HopResult> {
  const { url, proxy, signal } = opts;
  const sockets: Array<{ destroy(): void }> = [];
  return new Promise<HopResult>((resolve) => {
    let settled = false;
    const settle = (r: HopResult): void => {
      if (settled) return;
      settled = true;
      if (!r.ok) {
        signal.removeEventListener("abort", onAbort);
        destroyAll();
      }
      resolve(r);
    };
    const destroyAll = (): void => {
      for (const s of sockets) s.destroy();
    };
    const onAbort = (): void => {
      destroyAll();
      settle({ ok: false, kind: "network", message: "aborted" });
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });

    const accept = (res: IncomingMessage): void => {
      // The listener stays while the body is read so the deadline can still cut it.
      res.once("close", () => signal.removeEventListener("abort", onAbort));
      settle({ ok: true, response: res });
    };
    const fail = (err: unknown): void => settle({ ok: false, kind: "network", message: errorText(err) });

    const target = `${url.hostname}:${defaultPort(url)}`;
    const proxyHost = stripBrackets(proxy.hostname);
    const proxyPort = defaultPort(proxy);
    const auth = proxyAuth(opts.tag);

    if (url.protocol === "http:") {
      const req = http.request({
        host: proxyHost,
        port: proxyPort,
        method: "GET",
        path: url.href,
        headers: { host: url.host, "proxy-authorization": auth, connection: "close", ...opts.headers },
        agent: false,
        maxHeaderSize: MAX_HEADER_BYTES,
      });
      sockets.push(req);
      req.once("response", (res) => {
        const refusal = proxyRefusal(res, target);
        if (refusal) settle(refusal);
        else accept(res);
      });
      req.once("error", fail);
      req.end();
      return;
    }

    const connect = http.request({
      host: proxyHost,
      port: proxyPort,
      method: "CONNECT",
      path: target,
      headers: { host: target, "proxy-authorization": auth },
      agent: false,
    });
    sockets.push(connect);
    connect.once("error", fail);
    connect.once("connect", (res, socket, head) => {
      sockets.push(socket);
      if (res.statusCode !== 200) {
        settle(
          proxyRefusal(res, target) ?? {
            ok: false,
            kind: "network",
            message: `egress proxy answered CONNECT ${target} with ${res.statusCode ?? 0}`,
          },
        );
        return;
      }
      if (head.length > 0) socket.unshift(head);
      const host = stripBrackets(url.hostname);
      const secure = tls.connect({
        socket,
        // SNI must not carry IP literals.
        servername: net.isIP(host) === 0 ? host : undefined,
        ca: opts.ca === undefined ? undefined : [...tls.rootCertificates, ...[opts.ca].flat()],
        ALPNProtocols: ["http/1.1"],
      });
      sockets.push(secure);
      secure.once("error", fail);
      const req = http.request({
        createConnection: () => secure,
        method: "GET",
        path: `${url.pathname}${url.search}`,
        headers: { host: url.host, connection: "close", ...opts.headers },
        maxHeaderSize: MAX_HEADER_BYTES,
      });
      sockets.push(req);
      req.once("response", accept);
      req.once("error", fail);
      req.end();
    });
    connect.end();
  });
}
