import type { IncomingMessage } from "node:http";
import net from "node:net";
import type { LookupFunction } from "node:net";
import type { Duplex } from "node:stream";
import type { ByteCount } from "./egress-ledger.ts";

/**
 * Plain `ws://` through an HTTP proxy can arrive as an absolute-URI GET with
 * `Upgrade: websocket` (Chromium itself tunnels WebSockets with CONNECT, other
 * clients do not). proxy-chain has no upgrade support and would strip the
 * hop-by-hop Upgrade header, so upgrades are relayed here, with the same
 * auth, check and pinned connect as every other request.
 */

export type UpgradeDecision =
  { ok: true; lookup: LookupFunction } | { ok: false; status: number; headers: Record<string, string>; reason: string };

export interface UpgradeDeps {
  realm: string;
  /** The tag of a connection accepted on a tag's own port; otherwise the tag is the Basic username. */
  tagOf?(socket: Duplex): string | undefined;
  decide(tag: string, target: string, hostname: string, port: number): Promise<UpgradeDecision>;
  track(tag: string, read: () => ByteCount): (final?: ByteCount) => void;
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  407: "Proxy Authentication Required",
  502: "Bad Gateway",
};

function reply(socket: Duplex, status: number, headers: Record<string, string>, body: string): void {
  let msg = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\n`;
  for (const [k, v] of Object.entries({
    ...headers,
    connection: "close",
    "content-length": String(Buffer.byteLength(body)),
  })) {
    msg += `${k}: ${v}\r\n`;
  }
  socket.end(`${msg}\r\n${body}`);
}

/** Username of a `Proxy-Authorization: Basic` header, or undefined. Any password is accepted. */
export function basicUsername(header: string | undefined): string | undefined {
  const m = /^\s*basic\s+(\S+)\s*$/i.exec(header ?? "");
  if (m?.[1] === undefined) return undefined;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const i = decoded.indexOf(":");
  const user = i < 0 ? decoded : decoded.slice(0, i);
  return user === "" ? undefined : user;
}

// Hop-by-hop headers meant for the proxy; Connection/Upgrade stay because the target needs them.
const PROXY_ONLY = new Set(["proxy-authorization", "proxy-connection", "keep-alive"]);

export function createUpgradeHandler(deps: UpgradeDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    socket.on("error", () => socket.destroy());
    void relay(deps, req, socket, head).catch(() => socket.destroy());
  };
}

async function relay(deps: UpgradeDeps, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? "");
  } catch {
    reply(socket, 400, {}, "Upgrade requests to a proxy need an absolute URI");
    return;
  }
  if (url.protocol !== "http:" && url.protocol !== "ws:") {
    reply(socket, 400, {}, `Only http/ws upgrades are proxied (was ${url.protocol})`);
    return;
  }
  const tag = deps.tagOf?.(req.socket) ?? basicUsername(req.headers["proxy-authorization"]);
  if (tag === undefined) {
    reply(socket, 407, { "proxy-authenticate": `Basic realm="${deps.realm}"` }, "Proxy credentials required");
    return;
  }
  const port = url.port !== "" ? Number(url.port) : 80;
  const decision = await deps.decide(tag, url.href, url.hostname, port);
  if (!decision.ok) {
    reply(socket, decision.status, decision.headers, decision.reason);
    return;
  }
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const target = net.connect({ host, port, lookup: decision.lookup });
  const untrack = deps.track(tag, () => ({ sent: target.bytesWritten, received: target.bytesRead }));
  let connected = false;
  target.on("connect", () => {
    connected = true;
    let msg = `${req.method ?? "GET"} ${url.pathname}${url.search} HTTP/1.1\r\n`;
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i] ?? "";
      if (!PROXY_ONLY.has(name.toLowerCase())) msg += `${name}: ${req.rawHeaders[i + 1] ?? ""}\r\n`;
    }
    target.write(`${msg}\r\n`);
    if (head.length > 0) target.write(head);
    socket.pipe(target);
    target.pipe(socket);
  });
  target.on("error", () => {
    if (!connected) reply(socket, 502, {}, "Could not connect to target");
    else socket.destroy();
  });
  target.on("close", () => {
    untrack();
    socket.destroy();
  });
  socket.on("close", () => target.destroy());
}
