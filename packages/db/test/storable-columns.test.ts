// What the jsonb and text columns do to text Postgres would refuse, against the real Postgres.
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { createDb } from "../src/index.ts";
import { storableJson } from "../src/schema/storable-columns.ts";

const handle = createDb({ url: process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/orbweaver_test" });
afterAll(() => handle.close());

/** The value as Postgres's jsonb stores it and gives it back. */
async function throughJsonb(value: unknown): Promise<unknown> {
  const res = await handle.db.execute<{ v: unknown }>(sql`select ${storableJson(JSON.stringify(value))}::jsonb as v`);
  return res.rows[0]?.v;
}

describe("storableJson", () => {
  it("drops NUL characters and makes unpaired surrogates U+FFFD, in values and keys", async () => {
    const value = { ["k\u0000ey"]: ["a\u0000b", "half \ud83d", "low \udc00 alone", "pair \ud83d\ude00"], n: 1 };
    await expect(handle.db.execute(sql`select ${JSON.stringify(value)}::jsonb`)).rejects.toThrow();
    expect(await throughJsonb(value)).toEqual({
      key: ["ab", "half \ufffd", "low \ufffd alone", "pair \ud83d\ude00"],
      n: 1,
    });
  });

  it("leaves the text of an escape alone: a backslash followed by u0000 or ud800 is not a character", async () => {
    const value = ["\\u0000", "\\ud800", "\\\\u0000", "C:\\udata", "\\\u0000"];
    expect(storableJson(JSON.stringify(value))).toBe(
      JSON.stringify(["\\u0000", "\\ud800", "\\\\u0000", "C:\\udata", "\\"]),
    );
    expect(await throughJsonb(value)).toEqual(["\\u0000", "\\ud800", "\\\\u0000", "C:\\udata", "\\"]);
  });

  it("returns JSON without escapes as it is", () => {
    const json = JSON.stringify({ a: 'plain text, "quoted", a tab\t and é' });
    expect(storableJson(json)).toBe(json);
  });
});
