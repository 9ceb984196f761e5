import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";

/** Repository root, where the CLI runs from (as `pnpm start` and the compose services do). */
export const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));

export interface Spawned {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** The pino lines a spawned process logged about one job with the given message. */
export function loggedAboutJob(spawned: Spawned, jobId: string, msg: string): number {
  return spawned
    .output()
    .split("\n")
    .filter((line) => {
      if (!line.startsWith("{")) return false;
      try {
        const entry = JSON.parse(line) as { jobId?: string; msg?: string };
        return entry.jobId === jobId && entry.msg === msg;
      } catch {
        return false;
      }
    }).length;
}

/**
 * Runs `tsx apps/cli/src/main.ts ARGS` as its own process, the same command the compose services run.
 * `nodeArgs` go to node after tsx's own `--import` (a test's preload, as the soak test's gc probe).
 */
export function spawnCli(args: string[], env: Record<string, string>, nodeArgs: string[] = []): Spawned {
  const child = spawn(process.execPath, ["--import", "tsx", ...nodeArgs, "apps/cli/src/main.ts", ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Runs a CLI command to completion. */
export async function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; output: string }> {
  const s = spawnCli(args, env);
  let stdout = "";
  s.child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  const code = await s.exited;
  return { code, stdout, output: s.output() };
}

/** Registers an afterAll that kills every worker process started through the returned `start --role worker` spawner. */
export function useWorkerProcesses(env: () => Record<string, string>): () => Spawned {
  const spawned: Spawned[] = [];
  afterAll(() => {
    for (const s of spawned) {
      s.child.kill("SIGCONT"); // in case the test froze it with SIGSTOP
      s.child.kill("SIGKILL");
    }
  });
  return () => {
    const s = spawnCli(["start", "--role", "worker"], env());
    spawned.push(s);
    return s;
  };
}
