// A TCP proxy between a stack and Postgres that can lose one answer: the statement reaches Postgres
// and runs (a COMMIT commits), but the client's connection is cut before the answer reaches it, as
// when a network drops between the two right after the commit.
import { connect, createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

/** Which statement's answer to lose. */
export interface DropTrigger {
  /** Matched against the text of what the client sends (a Query, or a Parse with its SQL). */
  statement: RegExp;
  /** Only once this connection has sent a statement matching it (a COMMIT of one kind of transaction). */
  after?: RegExp;
}

export interface PgAnswerDropper {
  /** The Postgres URL through the proxy (same user and database as the target). */
  url: string;
  /**
   * Arms the proxy for one drop: the first connection whose client sends a matching statement has
   * it forwarded, Postgres's whole answer (up to ReadyForQuery) held back, and then the connection
   * cut on both sides. Resolves once that happened.
   */
  dropNextAnswer(trigger: DropTrigger): Promise<void>;
  close(): Promise<void>;
}

/** ReadyForQuery: the last message of the answer to a statement. */
const READY_FOR_QUERY = 0x5a;

/** True when `buf`, starting at a message boundary, holds a complete ReadyForQuery message. */
function holdsReadyForQuery(buf: Buffer): boolean {
  let at = 0;
  while (at + 5 <= buf.length) {
    const length = buf.readUInt32BE(at + 1);
    if (at + 1 + length > buf.length) return false;
    if (buf[at] === READY_FOR_QUERY) return true;
    at += 1 + length;
  }
  return false;
}

/** Starts the proxy on 127.0.0.1 in front of the Postgres at `targetUrl`. */
export async function startPgAnswerDropper(targetUrl: string): Promise<PgAnswerDropper> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port || 5432);
  const targetHost = target.hostname;
  let armed: { trigger: DropTrigger; done: () => void } | null = null;
  const sockets = new Set<Socket>();

  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    let primed = false;
    /** Set once this connection's statement was forwarded: Postgres's answer is held here. */
    let held: { chunks: Buffer[]; done: () => void } | null = null;

    client.on("data", (chunk: Buffer) => {
      if (armed && !held) {
        // The protocol carries SQL as plain text; latin1 keeps every byte as one character.
        const text = chunk.toString("latin1");
        const { trigger, done } = armed;
        if ((!trigger.after || primed) && trigger.statement.test(text)) {
          armed = null;
          held = { chunks: [], done };
        } else if (trigger.after?.test(text)) primed = true;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!held) {
        client.write(chunk);
        return;
      }
      // node-postgres sends a statement only after the previous answer's ReadyForQuery, so what
      // arrives now starts at the boundary of the answer to the trigger.
      held.chunks.push(chunk);
      if (holdsReadyForQuery(Buffer.concat(held.chunks))) {
        client.destroy();
        upstream.destroy();
        held.done();
      }
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", () => undefined);
    upstream.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = new URL(targetUrl);
  url.hostname = "127.0.0.1";
  url.port = String(port);

  return {
    url: url.toString(),
    dropNextAnswer: (trigger) =>
      new Promise<void>((resolve) => {
        armed = { trigger, done: resolve };
      }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
