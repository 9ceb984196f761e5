import { describe, expect, it } from "vitest";
import { getFreePort, waitFor } from "../src/index.ts";

describe("waitFor", () => {
  it("resolves with the first non-empty value", async () => {
    let n = 0;
    const value = await waitFor(async () => (++n >= 3 ? { n } : undefined), {
      intervalMs: 5,
    });
    expect(value).toEqual({ n: 3 });
  });

  it("treats 0 and empty string as values, errors as 'not yet'", async () => {
    expect(await waitFor(async () => 0)).toBe(0);
    let n = 0;
    const v = await waitFor(
      async () => {
        if (++n < 2) throw new Error("boom");
        return "";
      },
      { intervalMs: 5 },
    );
    expect(v).toBe("");
  });

  it("throws a clear error on timeout", async () => {
    await expect(
      waitFor(async () => false, {
        timeoutMs: 100,
        intervalMs: 10,
        message: "job to finish",
      }),
    ).rejects.toThrow(/waitFor timed out after 100ms .*waiting for job to finish; last value: false/);
    await expect(
      waitFor(
        async () => {
          throw new Error("db down");
        },
        { timeoutMs: 50 },
      ),
    ).rejects.toThrow(/last error: db down/);
  });
});

describe("getFreePort", () => {
  it("returns a usable port", async () => {
    const port = await getFreePort();
    expect(port).toBeGreaterThan(0);
  });
});
