import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { COMPONENT_PRODUCTS } from "@orbweaver/testkit";
import { FAQ } from "../../../testkit/src/fixture/interactive-pages.ts";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../../../", import.meta.url));
const script = fileURLToPath(new URL("./tsx-smoke-script.ts", import.meta.url));

describe("browser actions under tsx (the production loader)", () => {
  it("in-page scripts survive tsx's function rewriting", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", script], { cwd: root, timeout: 90_000 });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out.search).toMatch(/\/search\?q=bottle&category=bottles&in_stock=1$/);
    expect(out.inline).toBe(13);
    expect(out.click).toEqual([FAQ[0]?.answer, FAQ[1]?.answer]);
    expect(out.navigate).toEqual([expect.stringMatching(/\/news\/1$/)]);
    expect(out.errors).toEqual([]);
    expect(out.shadow).toBe(true);
    expect(out.consent).toBe("accepted");
    expect(out.sheets).toEqual(COMPONENT_PRODUCTS.slice(0, 2).map((p) => expect.stringContaining(p.detail)));
  }, 120_000);
});
