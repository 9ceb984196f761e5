import { describe, expect, it } from "vitest";
import { packChunks, splitText } from "../../src/llm/chunk-markdown.ts";
import { mergeJsonValues, mergeTextAnswers, stripOuterFence } from "../../src/llm/merge-results.ts";
import { parseJsonReply } from "../../src/llm/parse-json-reply.ts";

describe("splitText", () => {
  const doc =
    "# Title\n\nIntro paragraph with several words.\n\n## Part one\n\nFirst. Second sentence here! Third?\n" +
    "Another line in part one.\n\n## Part two\n\nClosing words.";

  it("returns pieces under the limit that concatenate back to the input", () => {
    for (const max of [10, 25, 40, 80, 1000]) {
      const pieces = splitText(doc, max);
      expect(pieces.join("")).toBe(doc);
      for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(max);
    }
  });

  it("prefers heading boundaries", () => {
    expect(splitText(doc, 80)).toEqual([
      "# Title\n\nIntro paragraph with several words.\n\n",
      "## Part one\n\nFirst. Second sentence here! Third?\nAnother line in part one.\n\n",
      "## Part two\n\nClosing words.",
    ]);
  });

  it("never cuts inside a word unless a single word exceeds the limit", () => {
    const words = doc.split(/\s+/);
    for (const piece of splitText(doc, 12)) {
      for (const w of piece.split(/\s+/).filter(Boolean)) expect(words).toContain(w);
    }
    expect(splitText("a".repeat(25), 10)).toEqual(["a".repeat(10), "a".repeat(10), "a".repeat(5)]);
  });

  it("packs small pages together and numbers the parts of long ones", () => {
    const chunks = packChunks(
      [
        { url: "u1", title: "t1", text: "short one" },
        { url: "u2", title: "t2", text: "short two" },
        { url: "u3", title: "t3", text: "long ".repeat(100).trim() },
      ],
      200,
    );
    expect(chunks[0]?.map((p) => p.url)).toEqual(["u1", "u2"]);
    const longParts = chunks.flat().filter((p) => p.url === "u3");
    expect(longParts.length).toBeGreaterThan(2);
    expect(longParts.map((p) => `${p.part}/${p.parts}`)).toEqual(
      longParts.map((_, i) => `${i + 1}/${longParts.length}`),
    );
  });
});

describe("mergeJsonValues", () => {
  it("concatenates and de-duplicates arrays, ignoring key order", () => {
    expect(
      mergeJsonValues([
        [{ a: 1, b: 2 }, { a: 2 }],
        [{ b: 2, a: 1 }, { a: 3 }],
      ]),
    ).toEqual([{ a: 1, b: 2 }, { a: 2 }, { a: 3 }]);
  });

  it("merges objects preferring non-null values, first scalar wins, nested arrays united", () => {
    expect(
      mergeJsonValues([
        { title: "A", price: null, tags: ["x"], seller: { name: null, id: 1 } },
        { title: "B", price: 5, tags: ["x", "y"], seller: { name: "S", id: 2 }, extra: true },
      ]),
    ).toEqual({ title: "A", price: 5, tags: ["x", "y"], seller: { name: "S", id: 1 }, extra: true });
  });

  it("handles null and single answers", () => {
    expect(mergeJsonValues([])).toBeNull();
    expect(mergeJsonValues([null, { a: 1 }])).toEqual({ a: 1 });
  });
});

describe("text answers", () => {
  it("strips an outer code fence", () => {
    expect(stripOuterFence("```markdown\n# Hi\n```")).toBe("# Hi");
    expect(stripOuterFence("# Hi\n\n```js\ncode\n```")).toBe("# Hi\n\n```js\ncode\n```");
  });

  it("joins Markdown answers and merges tables under one header", () => {
    expect(mergeTextAnswers(["A", "", "B"], "markdown")).toBe("A\n\nB");
    expect(mergeTextAnswers(["| N |\n|---|\n| a |\n| b |", "| N |\n| --- |\n| b |\n| c |"], "table")).toBe(
      "| N |\n|---|\n| a |\n| b |\n| c |",
    );
  });
});

describe("parseJsonReply", () => {
  it("parses plain, fenced and embedded JSON; rejects prose", () => {
    expect(parseJsonReply('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonReply("```json\n[1,2]\n```")).toEqual({ ok: true, value: [1, 2] });
    expect(parseJsonReply('Here you go: {"a":{"b":2}} Enjoy!')).toEqual({ ok: true, value: { a: { b: 2 } } });
    expect(parseJsonReply("no json here")).toEqual({ ok: false });
    expect(parseJsonReply("")).toEqual({ ok: false });
  });
});
