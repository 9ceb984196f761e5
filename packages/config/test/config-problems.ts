import { ConfigError, loadConfig } from "../src/index.ts";

/** The problems loadConfig reports for `env`, or [] when it accepts it. */
export function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}
