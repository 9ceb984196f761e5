import { describe, expect, it } from "vitest";
import { getSchemaValidator } from "../../src/schema/schema-validator-cache.ts";
import { validateOutputSchema } from "../../src/schema/validate-output-schema.ts";

const product = {
  type: "object",
  required: ["name", "price"],
  properties: {
    name: { type: "string" },
    price: { type: "number" },
    tags: { type: "array", items: { type: "string" } },
  },
};

/** An object schema nested `levels` deep (root counts as 1). */
function nested(levels: number): object {
  let node: object = { type: "object", properties: { leaf: { type: "string" } } };
  for (let i = 1; i < levels; i++) node = { type: "object", properties: { child: node } };
  return node;
}

describe("validateOutputSchema", () => {
  it("accepts a plain object schema without warnings", () => {
    expect(validateOutputSchema(product)).toEqual({ ok: true, warnings: [] });
  });

  it("accepts Zod-converted schemas ($schema 2020-12, additionalProperties, title, description, nullable anyOf)", () => {
    const zodLike = {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      title: "Job",
      description: "A job posting",
      type: "object",
      properties: {
        title: { type: "string", description: "Job title" },
        salary: { anyOf: [{ type: "number" }, { type: "null" }] },
      },
      required: ["title", "salary"],
      additionalProperties: false,
    };
    expect(validateOutputSchema(zodLike)).toEqual({ ok: true, warnings: [] });
    const draft7 = { ...zodLike, $schema: "http://json-schema.org/draft-07/schema#" };
    expect(validateOutputSchema(draft7)).toEqual({ ok: true, warnings: [] });
  });

  it("rejects a malformed schema with an error naming the problem", () => {
    const result = validateOutputSchema({ type: "object", properties: { price: { type: "decimal" } } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toContain(
      "schema/properties/price/type must be equal to one of the allowed values (array, boolean, integer, null, number, object, string)",
    );
    // One error per location, not Ajv's anyOf noise.
    expect(result.errors).toHaveLength(1);
  });

  it("rejects non-objects and primitive roots; accepts array roots", () => {
    expect(validateOutputSchema("nope")).toEqual({ ok: false, errors: ["schema must be a JSON object"] });
    expect(validateOutputSchema([product])).toMatchObject({ ok: false });
    const primitive = validateOutputSchema({ type: "string" });
    expect(primitive.ok).toBe(false);
    if (!primitive.ok) expect(primitive.errors[0]).toMatch(/root must have type "object" or "array"/);
    expect(validateOutputSchema({ type: "array", items: product })).toEqual({ ok: true, warnings: [] });
    expect(validateOutputSchema({ type: ["object", "null"], properties: {} })).toMatchObject({ ok: true });
  });

  it("allows 5 levels of nesting and rejects 6", () => {
    expect(validateOutputSchema(nested(5))).toMatchObject({ ok: true });
    const deep = validateOutputSchema(nested(6));
    expect(deep.ok).toBe(false);
    if (!deep.ok) expect(deep.errors).toEqual(["schema nesting depth is 6; the maximum is 5"]);
    // Arrays count as a level too.
    const arrays = { type: "array", items: { type: "array", items: nested(4) } };
    expect(validateOutputSchema(arrays)).toMatchObject({ ok: false });
  });

  it("rejects schemas over 10 KB", () => {
    const properties: Record<string, object> = {};
    for (let i = 0; i < 300; i++) properties[`field_number_${i}`] = { type: "string" };
    const big = { type: "object", properties };
    expect(JSON.stringify(big).length).toBeGreaterThan(10_240);
    const result = validateOutputSchema(big);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]).toMatch(/bytes; the maximum is 10240 bytes/);
  });

  it("ignores unsupported keywords with a warning per location", () => {
    const result = validateOutputSchema({
      type: "object",
      $defs: { money: { type: "number" } },
      properties: {
        x: { anyOf: [{ type: "string" }, { type: "number" }] },
        price: { $ref: "#/$defs/money" },
        items: { type: "array", items: { type: "object", properties: { a: { type: "string", not: { const: "" } } } } },
        "x-vendor": { type: "string", "x-internal": true },
      },
    });
    expect(result).toEqual({
      ok: true,
      warnings: [
        'Unsupported keyword "$defs" at (root) was ignored',
        'Unsupported keyword "anyOf" at /properties/x was ignored',
        'Unsupported keyword "$ref" at /properties/price was ignored',
        'Unsupported keyword "not" at /properties/items/items/properties/a was ignored',
      ],
    });
  });

  it("warns about unknown keywords and formats", () => {
    const result = validateOutputSchema({
      type: "object",
      properties: { when: { type: "string", format: "fancy-date", nullable: true } },
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.warnings).toContain('Unknown keyword "nullable" at /properties/when was ignored');
    expect(result.warnings.some((w) => w.includes('unknown format "fancy-date"'))).toBe(true);
  });

  it("caches compiled validators by content hash, not identity", () => {
    const a = getSchemaValidator({ type: "object", properties: { n: { type: "integer" }, s: { type: "string" } } });
    const b = getSchemaValidator({ properties: { s: { type: "string" }, n: { type: "integer" } }, type: "object" });
    expect(b).toBe(a);
    expect(b.validate).toBe(a.validate);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    const c = getSchemaValidator({ type: "object", properties: { n: { type: "number" } } });
    expect(c).not.toBe(a);
  });
});
