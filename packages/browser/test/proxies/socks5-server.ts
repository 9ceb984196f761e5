import net from "node:net";
import type { AddressInfo } from "node:net";

/**
 * Minimal real SOCKS5 server (RFC 1928 CONNECT, RFC 1929 user/password) for
 * upstream tests. Domain-name destinations are resolved by the server through
 * `hosts` (falling back to the name itself), which is how the tests see that
 * name resolution happened upstream (socks5h) and not in the egress proxy.
 */

export interface Socks5Server {
  port: number;
  /** `socks5://[user:pass@]127.0.0.1:port` */
  url: string;
  /** Every CONNECT destination as the client sent it: `host:port` (host = name or IP). */
  connects: string[];
  close(): Promise<void>;
}

export interface Socks5Options {
  username?: string;
  password?: string;
  /** Names this server resolves itself (e.g. `site.test` → 127.0.0.1). */
  hosts?: Record<string, string>;
}

type Read = (n: number) => Promise<Buffer>;

function readerFor(socket: net.Socket): { read: Read; rest: () => Buffer; stop: () => void } {
  let buf = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  let ended = false;
  const onData = (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    wake?.();
  };
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  socket.on("data", onData);
  socket.on("close", onEnd);
  return {
    async read(n) {
      while (buf.length < n) {
        if (ended) throw new Error("client went away");
        await new Promise<void>((r) => (wake = r));
      }
      const out = buf.subarray(0, n);
      buf = buf.subarray(n);
      return out;
    },
    rest: () => buf,
    stop() {
      // Pause first: data emitted with no listener would be lost before pipe() takes over.
      socket.pause();
      socket.off("data", onData);
      socket.off("close", onEnd);
    },
  };
}

const reply = (code: number) => Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]);

async function handle(client: net.Socket, opts: Socks5Options, connects: string[]): Promise<void> {
  const { read, rest, stop } = readerFor(client);
  const [, nMethods = 0] = await read(2);
  const methods = [...(await read(nMethods))];
  const needAuth = opts.username !== undefined;
  const method = needAuth ? 2 : 0;
  if (!methods.includes(method)) {
    client.end(Buffer.from([5, 0xff]));
    return;
  }
  client.write(Buffer.from([5, method]));
  if (needAuth) {
    const [, ulen = 0] = await read(2);
    const user = (await read(ulen)).toString();
    const [plen = 0] = await read(1);
    const pass = (await read(plen)).toString();
    const ok = user === opts.username && pass === opts.password;
    client.write(Buffer.from([1, ok ? 0 : 1]));
    if (!ok) {
      client.end();
      return;
    }
  }
  const [, cmd, , atyp] = await read(4);
  let host: string;
  if (atyp === 1) host = [...(await read(4))].join(".");
  else if (atyp === 3) host = (await read((await read(1))[0] ?? 0)).toString();
  else if (atyp === 4) host = (await read(16)).toString("hex").replace(/(.{4})(?!$)/g, "$1:");
  else throw new Error(`bad address type ${atyp}`);
  const port = (await read(2)).readUInt16BE(0);
  if (cmd !== 1) {
    client.end(reply(7));
    return;
  }
  connects.push(`${host}:${port}`);
  const target = net.connect({ host: opts.hosts?.[host] ?? host, port });
  target.once("error", () => client.end(reply(5)));
  target.once("connect", () => {
    target.removeAllListeners("error");
    target.on("error", () => client.destroy());
    client.on("error", () => target.destroy());
    client.on("close", () => target.destroy());
    stop();
    client.write(reply(0));
    const early = rest();
    if (early.length > 0) target.write(early);
    client.pipe(target);
    target.pipe(client);
  });
}

export async function startSocks5Server(opts: Socks5Options = {}): Promise<Socks5Server> {
  const connects: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    handle(client, opts, connects).catch(() => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const auth = opts.username === undefined ? "" : `${opts.username}:${opts.password ?? ""}@`;
  return {
    port,
    url: `socks5://${auth}127.0.0.1:${port}`,
    connects,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
