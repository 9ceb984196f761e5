import { ConfigError, loadConfig } from "@orbweaver/config";
import { describeError } from "./describe-error.ts";
import { runCommand } from "./run-command.ts";

/** Entry point of every process: `start`, `migrate`, `keys …`, `credits …` (see README). */
try {
  const config = loadConfig();
  const code = await runCommand(config, process.argv.slice(2));
  if (code !== undefined) process.exitCode = code;
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`${describeError(err)}\n`);
  process.exit(1);
}
