// Shared listen/close plumbing for the test servers. Sockets are tracked and
// destroyed on close because some routes (/hang, hung LLM replies) never
// answer, and keep-alive clients would otherwise hold server.close() open.
import type { Server } from "node:http";
import type { Socket } from "node:net";

export interface ListeningServer {
  host: string;
  port: number;
  /** e.g. http://127.0.0.1:4312 (IPv6 hosts are bracketed). */
  origin: string;
  close(): Promise<void>;
}

export async function listenTracked(server: Server, host = "127.0.0.1", port = 0): Promise<ListeningServer> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });

  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("server did not bind a TCP port");
  const hostPart = address.family === "IPv6" || host.includes(":") ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    });
    return closing;
  };

  return {
    host,
    port: address.port,
    origin: `http://${hostPart}:${address.port}`,
    close,
  };
}
