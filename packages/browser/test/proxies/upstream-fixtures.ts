import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { Server } from "proxy-chain";

/** Real upstream proxies on 127.0.0.1 and raw clients for the egress proxy. */

export interface UpstreamProxy {
  port: number;
  /** `http://[user:pass@]127.0.0.1:port`, what resolveUpstream returns for it. */
  url: string;
  /** Requests this upstream forwarded: `CONNECT host:port` or `GET http://…`. */
  forwarded: string[];
  close(): Promise<void>;
}

/**
 * proxy-chain's own Server as an upstream (the "us"/"de" exits). With
 * credentials it answers 407 to anyone else, like a commercial proxy.
 */
export async function startUpstreamProxy(creds?: { username: string; password: string }): Promise<UpstreamProxy> {
  const forwarded: string[] = [];
  const server = new Server({
    host: "127.0.0.1",
    port: 0,
    prepareRequestFunction: ({ username, password, hostname, port, isHttp, request }) => {
      if (creds !== undefined && (username !== creds.username || password !== creds.password)) {
        return { requestAuthentication: true };
      }
      forwarded.push(isHttp ? `${request.method ?? "GET"} ${request.url ?? ""}` : `CONNECT ${hostname}:${port}`);
      return {};
    },
  });
  await server.listen();
  const auth = creds === undefined ? "" : `${creds.username}:${creds.password}@`;
  return {
    port: server.port,
    url: `http://${auth}127.0.0.1:${server.port}`,
    forwarded,
    close: () => server.close(true),
  };
}

/** A port on 127.0.0.1 where nothing listens (connection refused). */
export async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const auth = (tag: string) => `Basic ${Buffer.from(`${tag}:x`).toString("base64")}`;

export interface TunnelReply {
  status: number;
  reason: string;
  headers: Record<string, string>;
  socket: net.Socket;
}

/** CONNECT through the egress proxy as `tag`; resolves with the proxy's answer. */
export function connectThrough(proxyPort: number, target: string, tag: string): Promise<TunnelReply> {
  return rawProxyRequest(
    proxyPort,
    `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\nProxy-Authorization: ${auth(tag)}\r\n\r\n`,
  );
}

/** Sends a raw request head to the proxy and parses the response head; the socket stays open. */
export function rawProxyRequest(proxyPort: number, head: string): Promise<TunnelReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxyPort, "127.0.0.1", () => socket.write(head));
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString("latin1");
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      const [statusLine = "", ...lines] = buf.slice(0, end).split("\r\n");
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(":");
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const m = /^HTTP\/\S+ (\d{3}) ?(.*)$/.exec(statusLine);
      resolve({ status: Number(m?.[1] ?? 0), reason: m?.[2] ?? "", headers, socket });
    };
    socket.on("data", onData);
    socket.on("error", reject);
  });
}

/** Sends a GET over an established tunnel and returns the whole raw response. */
export function getOverTunnel(socket: net.Socket, host: string): Promise<string> {
  return new Promise((resolve) => {
    let b = "";
    socket.on("data", (d: Buffer) => (b += d.toString()));
    socket.on("end", () => resolve(b));
    socket.on("close", () => resolve(b));
    socket.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  });
}

/** Plain-HTTP proxying: absolute-URI GET through the egress proxy as `tag`. */
export function getThrough(
  proxyPort: number,
  url: string,
  tag: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: proxyPort,
        path: url,
        headers: { "proxy-authorization": auth(tag), host: new URL(url).host },
        agent: false,
      },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}
