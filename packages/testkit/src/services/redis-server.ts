// A private redis-server for fault tests: its own port and no persistence, so a test may flush it,
// stop it and start it again without touching the shared Redis other tests use.
import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { getFreePort } from "../free-port.ts";

/** Options for {@link startRedisServer}. */
export interface RedisServerOptions {
  /** TCP port on 127.0.0.1. Default: a free one, kept across restarts. */
  port?: number;
  /** The executable. Default `redis-server` on the PATH. */
  bin?: string;
  /** How long a start may take before it counts as failed. Default 10 000 ms. */
  startTimeoutMs?: number;
}

export interface RedisServer {
  port: number;
  /** redis://127.0.0.1:PORT */
  url: string;
  /** True while the process runs. */
  readonly running: boolean;
  /** Sends one command (inline protocol) and returns the raw reply, e.g. `command("FLUSHALL")` → "+OK". */
  command(line: string): Promise<string>;
  /** FLUSHALL: every key gone, the process keeps running. */
  flushAll(): Promise<void>;
  /**
   * Stops the process: `SIGKILL` (default) is a crash, `SIGTERM` a clean shutdown. Nothing is
   * persisted either way, so a later {@link RedisServer.start} comes back empty.
   */
  stop(signal?: "SIGKILL" | "SIGTERM"): Promise<void>;
  /** Starts it again on the same port (after {@link RedisServer.stop}). */
  start(): Promise<void>;
  /** Stops it for good. */
  close(): Promise<void>;
}

/** Starts `redis-server --port N --save '' --appendonly no` bound to 127.0.0.1 and waits until it answers PING. */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const port = opts.port ?? (await getFreePort());
  const bin = opts.bin ?? "redis-server";
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = "";

  const command = (line: string) => sendInline(port, line);

  const start = async () => {
    if (child) throw new Error(`redis-server on port ${port} is already running`);
    output = "";
    const proc = spawn(
      bin,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmpdir()],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child = proc;
    proc.stdout?.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    proc.stderr?.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    // A test process that dies without its afterAll must not leave the server behind.
    const killOnExit = () => proc.kill("SIGKILL");
    process.once("exit", killOnExit);
    exited = new Promise<void>((resolve) =>
      proc.once("exit", () => {
        process.off("exit", killOnExit);
        if (child === proc) child = undefined;
        resolve();
      }),
    );
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (!child) throw new Error(`redis-server exited at start on port ${port}: ${output}`);
      const reply = await command("PING").catch(() => "");
      if (reply.startsWith("+PONG")) return;
      if (Date.now() > deadline) {
        proc.kill("SIGKILL");
        throw new Error(`redis-server did not answer on port ${port} within ${startTimeoutMs} ms: ${output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const stop = async (signal: "SIGKILL" | "SIGTERM" = "SIGKILL") => {
    const proc = child;
    if (!proc) return;
    proc.kill(signal);
    await exited;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== undefined;
    },
    command,
    flushAll: async () => {
      const reply = await command("FLUSHALL");
      if (!reply.startsWith("+OK")) throw new Error(`FLUSHALL answered ${reply}`);
    },
    stop,
    start,
    close: () => stop("SIGKILL"),
  };
}

/** One inline command over a fresh socket; resolves with the first reply line. */
function sendInline(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis on port ${port} did not answer ${line}`));
    }, 3000);
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("data", (d: Buffer) => {
      reply += d.toString();
      if (reply.includes("\r\n")) {
        clearTimeout(timer);
        socket.end();
        resolve(reply.slice(0, reply.indexOf("\r\n")));
      }
    });
    socket.write(`${line}\r\n`);
  });
}
