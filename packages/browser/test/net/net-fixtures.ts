import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";

/** Test servers on 127.0.0.1: the "allowed" site and the canary that must never be reached. */

export interface TestServer {
  port: number;
  origin: string;
  close(): Promise<void>;
}

export interface Canary extends TestServer {
  /** TCP connections accepted (counts even requests that never complete). */
  connections: number;
  requests: string[];
  upgrades: number;
  /** Any sign of contact: connections, requests (possibly on a reused socket) or upgrades. */
  hits(): number;
  reset(): void;
}

function acceptWebSocket(req: http.IncomingMessage, socket: Duplex): void {
  const key = req.headers["sec-websocket-key"] ?? "";
  const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  // Send one small text frame so clients see traffic, then idle until closed.
  socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
  socket.on("error", () => socket.destroy());
  socket.on("end", () => socket.destroy());
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as AddressInfo).port;
}

/** Closes the server and every socket, including upgraded ones closeAllConnections() no longer tracks. */
function closer(server: http.Server): () => Promise<void> {
  const sockets = new Set<Duplex>();
  server.on("connection", (s: Duplex) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
}

export async function startCanary(): Promise<Canary> {
  const server = http.createServer((req, res) => {
    canary.requests.push(req.url ?? "");
    res.writeHead(200, { "content-type": "text/html", "access-control-allow-origin": "*" });
    res.end("<title>canary</title>CANARY REACHED");
  });
  server.on("connection", () => {
    canary.connections++;
  });
  server.on("upgrade", (req, socket) => {
    canary.upgrades++;
    acceptWebSocket(req, socket);
  });
  const port = await listen(server);
  const canary: Canary = {
    port,
    origin: `http://127.0.0.1:${port}`,
    connections: 0,
    requests: [],
    upgrades: 0,
    hits: () => canary.connections + canary.requests.length + canary.upgrades,
    reset() {
      canary.connections = 0;
      canary.requests = [];
      canary.upgrades = 0;
    },
    close: closer(server),
  };
  return canary;
}

/**
 * The allowed site. Routes:
 *   /                     plain page
 *   /redirect?code=N&to=U HTTP redirect
 *   /html?b=<base64>      serves the given HTML (test pages built by the caller)
 */
export async function startSite(): Promise<TestServer & { upgrades: number }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/redirect") {
      res.writeHead(Number(url.searchParams.get("code") ?? 302), { location: url.searchParams.get("to") ?? "/" });
      res.end();
      return;
    }
    if (url.pathname === "/html") {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(Buffer.from(url.searchParams.get("b") ?? "", "base64url").toString("utf8"));
      return;
    }
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<title>site</title>${"x".repeat(2000)}`);
  });
  server.on("upgrade", (req, socket) => {
    site.upgrades++;
    acceptWebSocket(req, socket);
  });
  const port = await listen(server);
  const site = { port, origin: `http://127.0.0.1:${port}`, upgrades: 0, close: closer(server) };
  return site;
}

/** URL on the site that serves `html`. */
export function htmlUrl(site: TestServer, html: string): string {
  return `${site.origin}/html?b=${Buffer.from(html).toString("base64url")}`;
}

export async function waitFor(pred: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return pred();
}
