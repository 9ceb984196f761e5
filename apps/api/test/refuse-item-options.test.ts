// A batch item is a URL, or `{url}`: the per-URL options of POST /scrape would be dropped silently.
import { describe, expect, it } from "vitest";
import { AppError } from "../src/errors.ts";
import { refuseItemOptions } from "../src/routes/batch/refuse-item-options.ts";

/** Items as a client sends them (the request schema lets any other key through). */
function refusal(urls: Array<string | Record<string, unknown>>): AppError | null {
  try {
    refuseItemOptions(urls as Parameters<typeof refuseItemOptions>[0]);
    return null;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
}

describe("refuseItemOptions", () => {
  it("takes strings, {url} objects and per-URL fields that say nothing", () => {
    expect(
      refusal([
        "https://example.com/a",
        { url: "https://example.com/b" },
        { url: "https://example.com/c", actions: [], cookies: [], instruction: " ", extra: 1 },
        { url: "https://example.com/d", actions: null, cookies: null, instruction: null },
      ]),
    ).toBeNull();
  });

  it("refuses the whole batch with 400, naming every item and field that would be dropped", () => {
    const err = refusal([
      "https://example.com/a",
      { url: "https://example.com/b", actions: [{ type: "click", selector: "#more" }] },
      { url: "https://example.com/c", cookies: [{ name: "session", value: "x" }], instruction: "the price" },
    ]);
    expect(err?.statusCode).toBe(400);
    expect(err?.code).toBe("VALIDATION_ERROR");
    expect(err?.message).toMatch(/^Batch item refused: urls\[1\]\.actions: per-URL actions are not supported/);
    expect(err?.extra.errors?.map((e) => e.split(":")[0])).toEqual([
      "urls[1].actions",
      "urls[2].cookies",
      "urls[2].instruction",
    ]);
  });
});
