import { readdir, readFile } from "node:fs/promises";

/**
 * PID of the Chromium main process whose command line carries `marker` (Linux /proc). Playwright
 * does not expose the PID of a launched browser; the pool adds a unique, inert switch to find it,
 * which also lets an operator or a test find browsers a killed worker left behind.
 */
export async function findBrowserPid(marker: string): Promise<number | undefined> {
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (!cmdline.includes(marker)) continue;
    const args = cmdline.split("\0");
    // Renderer, GPU and utility processes carry --type=…; the main process does not.
    if (!args.some((a) => a.startsWith("--type="))) return Number(entry);
  }
  return undefined;
}
