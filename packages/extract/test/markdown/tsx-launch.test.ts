import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const script = fileURLToPath(new URL("./fixtures/pool-under-tsx.ts", import.meta.url));
const expected = {
  markdown: "# Hello\n\n[x](https://example.com/x)",
  title: "Under tsx",
  pdf: { markdown: "Under tsx too", title: "A PDF" },
};

// Production runs `node --import tsx apps/cli/src/main.ts` (Dockerfile) or the
// tsx CLI, not vitest; the worker's loading path differs (see
// markdown-worker.mjs), so exercise both launch modes in a real child process.
describe("markdown pool outside vitest", () => {
  it("works under the tsx CLI", async () => {
    const { stdout } = await run(process.execPath, [require.resolve("tsx/cli"), script], { timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual(expected);
  });

  it("works under node --import tsx", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", script], { timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual(expected);
  });
});
