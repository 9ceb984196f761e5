import type { Socket } from "node:net";

/**
 * proxy-chain reports a failed upstream hop only by what it writes to the
 * client: CONNECT gets `HTTP/1.1 594 ECONNREFUSED` (or 590 `UPSTREAM502`, 597
 * for bad credentials, 599 with the SOCKS error), plain HTTP a 59x/504
 * response. No event carries it. So the one place that sees every upstream
 * outcome, whatever the upstream type, is the first status line written back
 * to the client socket; this reads it without changing a byte.
 */

export interface ProxyReply {
  /** Status code of the first response written; undefined when the socket closed before any. */
  status: number | undefined;
  /** Reason phrase as written (proxy-chain puts the error code or SOCKS message there). */
  reason: string;
}

const STATUS_LINE = /^HTTP\/\d\.\d (\d{3})(?: ([^\r\n]*))?/;
// Only one reply can be awaited per socket: with HTTP pipelining (Chromium does
// not pipeline) later requests on the same socket simply go unwatched.
const watched = new WeakSet<Socket>();

type WriteFn = (...args: unknown[]) => boolean;
type EndFn = (...args: unknown[]) => Socket;

function statusOf(chunk: unknown): ProxyReply | undefined {
  let head: string;
  if (typeof chunk === "string") head = chunk.slice(0, 256);
  else if (chunk instanceof Uint8Array)
    head = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1", 0, 256);
  else return undefined;
  if (head === "") return undefined;
  const m = STATUS_LINE.exec(head);
  return { status: m?.[1] === undefined ? 0 : Number(m[1]), reason: m?.[2] ?? "" };
}

/**
 * Calls `onReply` once, with the status line of the next response written to
 * `socket` (status 0 if what was written is not a status line), or with
 * `status: undefined` if the socket closes first. Must be armed before the
 * response is written (in prepareRequestFunction). The socket's own
 * write/end are restored as soon as the status is seen.
 */
export function watchProxyReply(socket: Socket, onReply: (reply: ProxyReply) => void): void {
  if (watched.has(socket)) return;
  watched.add(socket);
  const ownWrite = Object.hasOwn(socket, "write");
  const ownEnd = Object.hasOwn(socket, "end");
  const write = socket.write as WriteFn;
  const end = socket.end as EndFn;
  let done = false;

  const restore = (): void => {
    if (ownWrite) socket.write = write as Socket["write"];
    else Reflect.deleteProperty(socket, "write");
    if (ownEnd) socket.end = end as Socket["end"];
    else Reflect.deleteProperty(socket, "end");
  };
  const finish = (reply: ProxyReply): void => {
    if (done) return;
    done = true;
    watched.delete(socket);
    restore();
    socket.off("close", onClose);
    onReply(reply);
  };
  const onClose = (): void => finish({ status: undefined, reason: "closed before reply" });
  const inspect = (chunk: unknown): void => {
    const reply = statusOf(chunk);
    if (reply !== undefined) finish(reply);
  };

  socket.write = function (this: Socket, ...args: unknown[]) {
    inspect(args[0]);
    return write.apply(this, args);
  } as Socket["write"];
  // end(data) does not go through write(), so it needs its own look.
  socket.end = function (this: Socket, ...args: unknown[]) {
    if (typeof args[0] !== "function") inspect(args[0]);
    return end.apply(this, args);
  } as Socket["end"];
  socket.once("close", onClose);
}
