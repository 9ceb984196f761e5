// A private Postgres cluster for fault tests: initdb into a temporary directory and pg_ctl on a free
// port, so a test may stop the database under a running stack and start it again. The server
// refuses to run as root, so as root its commands run as the `postgres` OS user (runuser).
import { execFile, execFileSync } from "node:child_process";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { getFreePort } from "../free-port.ts";

const run = promisify(execFile);

/** Options for {@link startPostgresServer}. */
export interface PostgresServerOptions {
  /** TCP port on 127.0.0.1. Default: a free one, kept across restarts. */
  port?: number;
  /** Where initdb, pg_ctl and postgres live. Default `/usr/lib/postgresql/15/bin`. */
  binDir?: string;
  /** OS user the server runs as when this process is root. Default `postgres`. */
  osUser?: string;
  /** Database created once the cluster is up. Default `orbweaver`. */
  database?: string;
}

export interface PostgresServer {
  port: number;
  /** postgres://postgres@127.0.0.1:PORT/DATABASE (trust authentication). */
  url: string;
  /** The cluster's directory (removed by {@link PostgresServer.close}). */
  dir: string;
  readonly running: boolean;
  /** `pg_ctl stop -m fast` (default: open sessions are terminated) or `immediate` (a crash). */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  /** `pg_ctl start` on the same port and directory, waiting until it accepts connections. */
  start(): Promise<void>;
  /** Stops the server and deletes the cluster. */
  close(): Promise<void>;
}

/** initdb (trust auth, no fsync) into a temporary directory, starts it and creates the database. */
export async function startPostgresServer(opts: PostgresServerOptions = {}): Promise<PostgresServer> {
  const port = opts.port ?? (await getFreePort());
  const binDir = opts.binDir ?? "/usr/lib/postgresql/15/bin";
  const osUser = opts.osUser ?? "postgres";
  const database = opts.database ?? "orbweaver";
  const asRoot = process.getuid?.() === 0;
  const dir = await mkdtemp(join(tmpdir(), "orbweaver-pg-"));
  const dataDir = join(dir, "data");
  let running = false;

  const command = (bin: string, args: string[]): [string, string[]] => {
    const file = join(binDir, bin);
    return asRoot ? ["runuser", ["-u", osUser, "--", file, ...args]] : [file, args];
  };
  // A test process that dies without its afterAll must not leave the server running.
  const stopOnExit = () => {
    try {
      execFileSync(...command("pg_ctl", ["stop", "-D", dataDir, "-m", "immediate"]), { stdio: "ignore" });
    } catch {
      // already stopped
    }
  };
  const exec = async (bin: string, args: string[]) => {
    const [cmd, argv] = command(bin, args);
    try {
      return await run(cmd, argv, { cwd: dir, timeout: 60_000 });
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new Error(`${bin} ${args.join(" ")} failed: ${e.stderr || e.stdout || e.message}`, { cause: err });
    }
  };

  try {
    if (asRoot) {
      const { stdout } = await run("id", ["-u", osUser]);
      const { stdout: gid } = await run("id", ["-g", osUser]);
      await chown(dir, Number(stdout.trim()), Number(gid.trim()));
    }
    await exec("initdb", ["-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const serverOptions = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${dir}`,
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    "-c max_connections=100",
  ].join(" ");

  const start = async () => {
    await exec("pg_ctl", [
      "start",
      "-D",
      dataDir,
      "-w",
      "-t",
      "60",
      "-l",
      join(dir, "server.log"),
      "-o",
      serverOptions,
    ]);
    running = true;
    process.once("exit", stopOnExit);
  };
  const stop = async (mode: "fast" | "immediate" = "fast") => {
    if (!running) return;
    await exec("pg_ctl", ["stop", "-D", dataDir, "-w", "-t", "60", "-m", mode]);
    running = false;
    process.off("exit", stopOnExit);
  };

  await start();
  const url = `postgres://postgres@127.0.0.1:${port}/${database}`;
  try {
    await exec("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", database]);
  } catch (err) {
    await stop("immediate").catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    port,
    url,
    dir,
    get running() {
      return running;
    },
    stop,
    start,
    close: async () => {
      await stop("immediate").catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
