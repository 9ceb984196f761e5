import { describe, expect, it } from "vitest";
import { parseAmount } from "../../src/schema/conform-value.ts";
import { enforceSchema, makeStrictCompatible } from "../../src/schema/enforce-schema.ts";
import { structuredOutputSchema } from "../../src/schema/make-strict-compatible.ts";

const schema = {
  type: "object",
  required: ["name", "price", "inStock", "category"],
  properties: {
    name: { type: "string" },
    price: { type: "number" },
    quantity: { type: "integer" },
    inStock: { type: "boolean" },
    sku: { type: "string" },
    category: { type: "string", enum: ["book", "toy"] },
    condition: { type: "string", enum: ["new", "used"] },
    tags: { type: "array", items: { type: "string" } },
    seller: {
      type: "object",
      required: ["name"],
      properties: { name: { type: "string" }, rating: { type: "number" } },
    },
    variants: {
      type: "array",
      items: { type: "object", required: ["color"], properties: { color: { type: "string" } } },
    },
  },
};

describe("enforceSchema", () => {
  it("fills missing required fields with null and removes fields outside the schema, deep", () => {
    const input = {
      name: "Trailblazer",
      category: "toy",
      extra: 1,
      seller: { rating: 4.5, internal: "x" },
      variants: [{ color: "red", size: "L" }, { size: "M" }],
    };
    const result = enforceSchema(schema, input);
    expect(result).toEqual({
      ok: true,
      value: {
        name: "Trailblazer",
        price: null,
        inStock: null,
        category: "toy",
        seller: { name: null, rating: 4.5 },
        variants: [{ color: "red" }, { color: null }],
      },
    });
    // The input is not modified.
    expect(input.extra).toBe(1);
  });

  it("applies safe coercions", () => {
    const result = enforceSchema(schema, {
      name: 42,
      price: "39.99",
      quantity: "3",
      inStock: "true",
      sku: 1234,
      category: "Book",
      tags: "sale",
      seller: [{ name: "Shop" }],
    });
    expect(result).toEqual({
      ok: true,
      value: {
        name: "42",
        price: 39.99,
        quantity: 3,
        inStock: true,
        sku: "1234",
        category: "book",
        tags: ["sale"],
        seller: { name: "Shop" },
      },
    });
  });

  it("does not coerce what is not safe and reports it", () => {
    const result = enforceSchema(schema, {
      name: "x",
      price: "12 apples and 3 pears",
      quantity: "1.5",
      inStock: "maybe",
      category: "book",
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      "/price must be number or null",
      "/quantity must be integer or null",
      "/inStock must be boolean or null",
    ]);
    expect(result.value).toMatchObject({ price: "12 apples and 3 pears", quantity: "1.5" });
  });

  it("reads prices with a currency and thousands separators as numbers, only when the reading is unambiguous", () => {
    const read: Array<[string, number]> = [
      ["$1,299.00", 1299],
      ["$1,299", 1299],
      ["1,299,000", 1299000],
      ["USD 1,299.99", 1299.99],
      ["-$5.00", -5],
      ["1.299,00 €", 1299],
      ["1 299,00 €", 1299],
      ["R$ 1.299,90", 1299.9],
      ["1.299.000", 1299000],
      ["12,50 €", 12.5],
      ["€ 0,99", 0.99],
      ["CHF 1'299.50", 1299.5],
      ["12 USD", 12],
      ["1.299", 1.299],
      ["39.99", 39.99],
    ];
    for (const [text, number] of read) expect(parseAmount(text), text).toBe(number);
    const unread = [
      "12 apples and 3 pears",
      "1.299 €",
      "€1.299",
      "12%",
      "about 5",
      "1,2,3",
      "1.2,3",
      "12 3",
      "$",
      "12 PCS",
    ];
    for (const text of unread) expect(parseAmount(text), text).toBeUndefined();

    const priced = { type: "object", properties: { price: { type: "number" }, units: { type: "integer" } } };
    expect(enforceSchema(priced, { price: "$1,299.00", units: "1,200" })).toEqual({
      ok: true,
      value: { price: 1299, units: 1200 },
    });
    expect(enforceSchema(priced, { price: "12 apples and 3 pears", units: "$12.50" })).toMatchObject({
      ok: false,
      errors: ["/price must be number or null", "/units must be integer or null"],
    });
  });

  it('never reads a thousands group after a leading 0 ("0,500" is not 500)', () => {
    const read: Array<[string, number]> = [
      ["0,50 €", 0.5],
      ["€ 0,5", 0.5],
      ["0.500", 0.5],
      ["0,5000", 0.5],
      ["1,500", 1500],
    ];
    for (const [text, number] of read) expect(parseAmount(text), text).toBe(number);
    // "0,500" has no English (thousands) reading, but "1,500" is read that way: not read rather than
    // read by the other convention, which would make 0,500 and 1,500 a thousand apart.
    const unread = ["0,500", "$0,500", "0.500 €", "0.500.000", "0,500.00 €", "0.500,00 €", "0 500", "0'500", "00,500"];
    for (const text of unread) expect(parseAmount(text), text).toBeUndefined();
    expect(enforceSchema({ type: "object", properties: { w: { type: "number" } } }, { w: "0,500" })).toMatchObject({
      ok: false,
      errors: ["/w must be number or null"],
    });
  });

  it('does not read a lone "," before three digits when the currency comes only after the amount', () => {
    const unread = ["1,299 €", "1,299 EUR", "1,299€", "-1,299 €", "1,299 USD"];
    for (const text of unread) expect(parseAmount(text), text).toBeUndefined();
    const read: Array<[string, number]> = [
      ["$1,299", 1299],
      ["€1,299", 1299],
      ["EUR 1,299", 1299],
      ["$1,299 USD", 1299],
      ["1,299", 1299],
      ["1,299,000 €", 1299000],
      ["1,29 €", 1.29],
      ["1,2990 €", 1.299],
      ["1.299,00 €", 1299],
      ["1,299.00 €", 1299],
    ];
    for (const [text, number] of read) expect(parseAmount(text), text).toBe(number);
  });

  it("groups digits only with a plain space, NBSP or narrow NBSP, never a tab, newline or other space", () => {
    const read: Array<[string, number]> = [
      ["1 299,00 €", 1299],
      ["1\u00a0299,00 €", 1299],
      ["1\u202f299,00\u00a0€", 1299],
      ["1 299 000", 1299000],
      ["CHF 1\u2019299.50", 1299.5],
    ];
    for (const [text, number] of read) expect(parseAmount(text), text).toBe(number);
    const unread = [
      "1\t299,00 €",
      "1\n299",
      "1\r\n299 €",
      "1\u2009299,00 €",
      "1\u3000299",
      "1\v299",
      "1\ufeff299",
      "1a299",
      "1 299\t000",
    ];
    for (const text of unread) expect(parseAmount(text), JSON.stringify(text)).toBeUndefined();
  });

  it("with nullInvalidOptional, an optional field still invalid becomes null; a required one still fails", () => {
    const dated = {
      type: "object",
      required: ["title"],
      properties: {
        title: { type: "string", minLength: 2 },
        released: { type: "string", format: "date" },
        price: { type: "number" },
        items: {
          type: "array",
          items: {
            type: "object",
            required: ["sku"],
            properties: { sku: { type: "string" }, qty: { type: "integer" } },
          },
        },
        specs: { type: "object", additionalProperties: { type: "string" } },
      },
    };
    const answer = {
      title: "Trailblazer",
      released: "next Tuesday",
      price: "cheap",
      items: [{ sku: "A", qty: "many" }],
      specs: { weight: "1 kg", colour: ["red"] },
    };
    // Without the option nothing is given up.
    expect(enforceSchema(dated, answer)).toMatchObject({ ok: false });
    expect(enforceSchema(dated, answer, { nullInvalidOptional: true })).toEqual({
      ok: true,
      value: {
        title: "Trailblazer",
        released: null,
        price: null,
        items: [{ sku: "A", qty: null }],
        specs: { weight: "1 kg", colour: null },
      },
      nulled: ["/released", "/price", "/items/0/qty", "/specs/colour"],
    });
    const badRequired = enforceSchema(dated, { ...answer, title: "T" }, { nullInvalidOptional: true });
    expect(badRequired).toMatchObject({ ok: false, errors: ["/title must NOT have fewer than 2 characters"] });
  });

  it("keeps null for any property, also required ones", () => {
    const result = enforceSchema(schema, { name: null, price: null, inStock: null, category: null });
    expect(result.ok).toBe(true);
  });

  it("reports a required enum violation with the allowed values, nulls an optional one", () => {
    const result = enforceSchema(schema, { name: "x", price: 1, inStock: true, category: "food", condition: "mint" });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual(['/category must be equal to one of the allowed values: "book", "toy", null']);
    expect(result.value).toMatchObject({ category: "food", condition: null });

    const optionalOnly = enforceSchema(schema, { name: "x", price: 1, inStock: true, category: "toy", condition: "x" });
    expect(optionalOnly).toMatchObject({ ok: true, value: { condition: null } });
  });

  it("rejects a root of the wrong shape", () => {
    expect(enforceSchema(schema, null)).toMatchObject({ ok: false, errors: ["(root) must be object"] });
    expect(enforceSchema(schema, "text")).toMatchObject({ ok: false });
  });

  it("handles array roots, free-form objects and explicit additionalProperties", () => {
    const list = { type: "array", items: { type: "object", properties: { title: { type: "string" } } } };
    expect(enforceSchema(list, { title: "only one", junk: true })).toEqual({
      ok: true,
      value: [{ title: "only one" }],
    });

    const freeForm = { type: "object", properties: { attrs: { type: "object" } } };
    expect(enforceSchema(freeForm, { attrs: { a: 1, b: [2] } })).toEqual({
      ok: true,
      value: { attrs: { a: 1, b: [2] } },
    });

    const map = { type: "object", properties: { id: { type: "string" } }, additionalProperties: { type: "number" } };
    expect(enforceSchema(map, { id: 1, a: "2" })).toEqual({ ok: true, value: { id: "1", a: 2 } });
  });

  it("understands nullable unions and ignores unsupported keywords", () => {
    const zodLike = {
      type: "object",
      required: ["salary", "any"],
      properties: {
        salary: { anyOf: [{ type: "number" }, { type: "null" }] },
        any: { oneOf: [{ type: "string" }, { type: "number" }, { type: "boolean" }] },
      },
    };
    expect(enforceSchema(zodLike, { salary: "120000", any: true })).toEqual({
      ok: true,
      value: { salary: 120000, any: true },
    });
  });
});

describe("makeStrictCompatible", () => {
  it("closes objects, requires every property, makes optional ones nullable and drops unsupported keywords", () => {
    const strict = makeStrictCompatible({
      $schema: "https://json-schema.org/draft/2020-12/schema",
      title: "Product",
      type: "object",
      required: ["name"],
      properties: {
        name: { type: "string", minLength: 1, description: "Product name" },
        price: { type: "number", minimum: 0 },
        kind: { const: "product" },
        status: { type: "string", enum: ["a", "b"] },
        alt: { anyOf: [{ type: "string" }, { type: "number" }] },
        tags: { type: "array", items: { type: "string", pattern: "^x" } },
        seller: { type: "object", properties: { name: { type: "string" } } },
      },
    });
    expect(strict).toEqual({
      type: "object",
      properties: {
        name: { type: ["string", "null"], description: "Product name" },
        price: { type: ["number", "null"] },
        kind: { enum: ["product", null] },
        status: { type: ["string", "null"], enum: ["a", "b", null] },
        alt: { type: ["string", "number", "boolean", "null"] },
        tags: { type: ["array", "null"], items: { type: "string" } },
        seller: {
          type: ["object", "null"],
          properties: { name: { type: ["string", "null"] } },
          required: ["name"],
          additionalProperties: false,
        },
      },
      required: ["name", "price", "kind", "status", "alt", "tags", "seller"],
      additionalProperties: false,
    });
  });

  it("makes every property nullable, required ones too, so a field the page lacks can be null", () => {
    const strict = makeStrictCompatible({
      type: "object",
      required: ["name", "seller"],
      properties: {
        name: { type: "string" },
        seller: { type: "object", required: ["id"], properties: { id: { type: "integer" } } },
      },
    });
    expect(strict.properties).toEqual({
      name: { type: ["string", "null"] },
      seller: {
        type: ["object", "null"],
        properties: { id: { type: ["integer", "null"] } },
        required: ["id"],
        additionalProperties: false,
      },
    });
  });

  it("keeps format visible to the model as a description hint", () => {
    const strict = makeStrictCompatible({
      type: "object",
      properties: {
        released: { type: "string", format: "date", description: "Release date" },
        contact: { type: "string", format: "email" },
      },
    });
    expect(strict.properties).toEqual({
      released: { type: ["string", "null"], description: "Release date (format: date)" },
      contact: { type: ["string", "null"], description: "format: email" },
    });
  });

  it("keeps array roots as arrays (the Llm client wraps them)", () => {
    expect(makeStrictCompatible({ type: "array", items: { type: "object", properties: {} } })).toEqual({
      type: "array",
      items: { type: "object", properties: {}, required: [], additionalProperties: false },
    });
  });
});

describe("structuredOutputSchema", () => {
  it("is strict for schemas strict mode can express", () => {
    const closed = {
      type: "object",
      properties: { name: { type: "string" }, tags: { type: "array", items: { type: "string" } } },
    };
    expect(structuredOutputSchema(closed)).toEqual({ schema: makeStrictCompatible(closed), strict: true });
  });

  it("is non-strict, with the free-form parts as written, for maps and arrays without items", () => {
    const open = {
      type: "object",
      required: ["name"],
      properties: {
        name: { type: "string" },
        specs: { type: "object", additionalProperties: { type: "string" } },
        attrs: { type: "object" },
        extras: { type: "array" },
      },
    };
    expect(structuredOutputSchema(open)).toEqual({
      strict: false,
      schema: {
        type: "object",
        properties: {
          name: { type: ["string", "null"] },
          specs: { type: ["object", "null"], properties: {}, required: [], additionalProperties: { type: "string" } },
          attrs: { type: ["object", "null"], properties: {}, required: [] },
          extras: { type: ["array", "null"] },
        },
        required: ["name", "specs", "attrs", "extras"],
        additionalProperties: false,
      },
    });
  });
});
