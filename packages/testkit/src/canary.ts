// A tripwire server for SSRF tests: anything that reaches it, even a bare TCP
// connect or an HTTP CONNECT, is counted, so "hits() === 0" proves no contact.
import { createServer } from "node:http";
import type { Socket } from "node:net";
import { listenTracked } from "./listen.ts";

export interface Canary {
  origin: string;
  port: number;
  url(path: string): string;
  /**
   * Contacts: HTTP requests (CONNECT included) plus TCP connections that
   * never sent a parsable request. One plain fetch counts as 1.
   */
  hits(): number;
  /** HTTP requests only (including CONNECT). */
  requests(): number;
  /** Raw TCP connections accepted. */
  connections(): number;
  close(): Promise<void>;
}

export async function startCanary(opts: { host?: string; port?: number } = {}): Promise<Canary> {
  let requests = 0;
  let connections = 0;
  // Connections that have not (yet) produced a request still count as a contact.
  const silent = new Set<Socket>();
  const everSilent = { count: 0 };

  const server = createServer((req, res) => {
    requests++;
    silent.delete(req.socket);
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.end("canary");
  });
  server.on("connection", (socket: Socket) => {
    connections++;
    silent.add(socket);
    socket.once("close", () => {
      if (silent.delete(socket)) everSilent.count++;
    });
  });
  server.on("connect", (req, socket) => {
    requests++;
    silent.delete(req.socket);
    socket.end(
      "HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 6\r\nconnection: close\r\n\r\ncanary",
    );
  });
  server.on("clientError", (_err, socket) => {
    socket.destroy();
  });

  const listening = await listenTracked(server, opts.host, opts.port);
  return {
    origin: listening.origin,
    port: listening.port,
    url: (path: string) => new URL(path, listening.origin).toString(),
    hits: () => requests + everSilent.count + silent.size,
    requests: () => requests,
    connections: () => connections,
    close: listening.close,
  };
}
