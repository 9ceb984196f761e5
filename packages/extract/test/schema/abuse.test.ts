// Issue 8, "Abuse and bad input" / schema abuse: hostile output schemas are refused with a clear
// reason or validated within budget; nothing is ever fetched; a catastrophic `pattern` cannot hang
// the worker; the validator cache and its compilers stay bounded over 10k distinct schemas.
import { startCanary, type Canary } from "@orbweaver/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enforceSchema } from "../../src/schema/enforce-schema.ts";
import {
  boundedRegExp,
  patternProblem,
  PATTERN_CONFIRM_BUDGET_MS,
  PATTERN_TIME_BUDGET_MS,
} from "../../src/schema/safe-pattern.ts";
import {
  getSchemaValidator,
  schemaAjv,
  schemaCacheStats,
  SCHEMA_CACHE_MAX_ENTRIES,
} from "../../src/schema/schema-validator-cache.ts";
import { validateOutputSchema } from "../../src/schema/validate-output-schema.ts";

let canary: Canary;
beforeAll(async () => {
  canary = await startCanary();
});
afterAll(async () => {
  await canary?.close();
});

/** Runs `fn`, returning its result and how long it took. */
function timed<T>(fn: () => T): { value: T; ms: number } {
  const started = performance.now();
  const value = fn();
  return { value, ms: performance.now() - started };
}

/** `wrap` applied `n` times around `leaf`. */
function nest(n: number, leaf: unknown, wrap: (inner: unknown) => unknown): unknown {
  let node = leaf;
  for (let i = 0; i < n; i++) node = wrap(node);
  return node;
}

describe("deep and wide schemas", () => {
  const deep: Array<[string, unknown]> = [
    ["properties 1,000 deep", nest(1000, { type: "string" }, (x) => ({ type: "object", properties: { a: x } }))],
    ["items 1,000 deep", nest(1000, { type: "string" }, (x) => ({ type: "array", items: x }))],
    ["bare items 1,000 deep", { type: "array", items: nest(1000, {}, (x) => ({ items: x })) }],
    ["not 1,000 deep", { type: "object", not: nest(1000, {}, (x) => ({ not: x })) }],
    ["allOf 1,000 deep", { type: "object", allOf: [nest(1000, {}, (x) => ({ allOf: [x] }))] }],
    ["enum of arrays 4,000 deep", { type: "object", properties: { a: { enum: [nest(4000, 1, (x) => [x])] } } }],
    ["default 3,000 deep", { type: "object", default: nest(3000, 1, (x) => ({ a: x })) }],
  ];

  it.each(deep)("%s: refused with a reason or accepted, never thrown", (_name, schema) => {
    const { value: check, ms } = timed(() => validateOutputSchema(schema));
    console.log(`schema abuse: ${_name} → ${check.ok ? "accepted" : "refused"} in ${ms.toFixed(1)} ms`);
    if (check.ok) {
      // Accepted only because the deep part is outside what is enforced: enforcement still works.
      const enforced = enforceSchema(schema as object, { a: 1 });
      expect(enforced.value).toBeDefined();
    } else {
      expect(check.errors.length).toBeGreaterThan(0);
      expect(check.errors.join(" ")).toMatch(/bytes|depth|schema/);
    }
  });

  it("refuses a schema with 10,000 properties, a 10,000-member required list and a 10,000-value enum", () => {
    const props = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`p${i}`, { type: "string" }]));
    const cases = [
      { type: "object", properties: props },
      { type: "object", required: Array.from({ length: 10_000 }, (_, i) => `p${i}`) },
      { type: "object", properties: { a: { enum: Array.from({ length: 10_000 }, (_, i) => i) } } },
    ];
    for (const schema of cases) {
      const { value: check, ms } = timed(() => validateOutputSchema(schema));
      expect(check.ok).toBe(false);
      if (!check.ok) expect(check.errors[0]).toMatch(/maximum is 10240 bytes/);
      console.log(`schema abuse: ${Object.keys(schema).join("+")} with 10,000 members refused in ${ms.toFixed(1)} ms`);
    }
  });
});

describe("references", () => {
  it("ignores $ref loops (reported as warnings) and still enforces the rest", () => {
    const loops = [
      { type: "object", $ref: "#" },
      {
        type: "object",
        $defs: { a: { $ref: "#/$defs/b" }, b: { $ref: "#/$defs/a" } },
        properties: { x: { $ref: "#/$defs/a" }, name: { type: "string" } },
      },
      { type: "object", definitions: { self: { $ref: "#/definitions/self" } }, properties: { n: { $ref: "#" } } },
    ];
    for (const schema of loops) {
      const check = validateOutputSchema(schema);
      expect(check.ok, JSON.stringify(check)).toBe(true);
      if (check.ok) expect(check.warnings.join(" ")).toMatch(/\$ref/);
      const enforced = enforceSchema(schema, { name: "n", x: 1, extra: true });
      expect(enforced.ok).toBe(true);
      // With properties the value is pruned to them; without, the object is a free-form map.
      if ("properties" in schema) expect(enforced.value).not.toHaveProperty("extra");
    }
  });

  it("never fetches a remote $ref, $schema or $id (the canary sees no contact)", async () => {
    const remote = [
      { type: "object", $ref: canary.url("/root.json") },
      { type: "object", properties: { x: { $ref: canary.url("/x.json#/defs/x") } } },
      { $schema: canary.url("/meta-schema"), type: "object", properties: { y: { type: "string" } } },
      { $id: canary.url("/id.json"), type: "object", properties: { z: { $ref: "other.json" } } },
      { type: "object", properties: { w: { $dynamicRef: canary.url("/dyn#a"), $recursiveRef: "#" } } },
    ];
    for (const schema of remote) {
      const check = validateOutputSchema(schema);
      expect(check.ok, JSON.stringify(check)).toBe(true);
      expect(() => enforceSchema(schema, { x: 1, y: "a", z: 2, w: 3 })).not.toThrow();
    }
    // Anything asynchronous (a loader, a fetch) would have reached the canary by now.
    await new Promise((r) => setTimeout(r, 300));
    expect(canary.hits()).toBe(0);
  });

  it("refuses $data references (not a schema value)", () => {
    const check = validateOutputSchema({
      type: "object",
      properties: { low: { type: "number" }, high: { type: "number", minimum: { $data: "1/low" } } },
    });
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.errors.join(" ")).toMatch(/minimum/);
  });
});

describe("catastrophic patterns", () => {
  const hostile = [
    "^(a+)+$",
    "(a*)*b",
    "^(a|a)*$",
    "^(a|ab)*c$",
    "^(\\w+\\s?)+$",
    "^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$",
    "^(\\d+){10}$",
    "(.*a){12}",
    "^(a+)\\1$",
    `^${"a".repeat(600)}$`,
    "[",
  ];
  const safe = [
    "^\\d{3}-\\d{4}$",
    "^(\\+\\d{1,3})?\\d{10}$",
    "^[A-Z]{2}$",
    "^(\\d{3}-){2}\\d{4}$",
    "^https?://",
    "^\\S+@\\S+$",
  ];

  it.each(hostile)("refuses %s at submit with a reason", (pattern) => {
    expect(patternProblem(pattern)).toBeDefined();
    const check = validateOutputSchema({ type: "object", properties: { code: { type: "string", pattern } } });
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.errors[0]).toMatch(/^schema\/properties\/code\/pattern /);
  });

  it.each(safe)("accepts %s and enforces it", (pattern) => {
    expect(patternProblem(pattern)).toBeUndefined();
    const schema = { type: "object", properties: { code: { type: "string", pattern } } };
    expect(validateOutputSchema(schema).ok).toBe(true);
    expect(enforceSchema(schema, { code: "definitely not matching ☃" }).ok).toBe(false);
  });

  it("finds hostile patterns nested in items and additionalProperties", () => {
    const check = validateOutputSchema({
      type: "object",
      properties: { list: { type: "array", items: { type: "string", pattern: "(x+x+)+y" } } },
      additionalProperties: { type: "string", pattern: "^(a|aa)+$" },
    });
    expect(check.ok).toBe(false);
    if (!check.ok) {
      expect(check.errors).toEqual([
        expect.stringMatching(/^schema\/properties\/list\/items\/pattern /),
        expect.stringMatching(/^schema\/additionalProperties\/pattern /),
      ]);
    }
  });

  it("validates a hostile pattern that bypassed the submit check within its time budget, not forever", () => {
    // As if stored before the check existed, or polynomial (accepted at submit): the worker enforces it.
    const cases: Array<[string, string]> = [
      ["^(a+)+$", `${"a".repeat(40)}!`],
      ["^(a|a)*$", `${"a".repeat(40)}!`],
      ["^\\d*\\d*\\d*\\d*\\d*\\d*x$", "1".repeat(5000)],
    ];
    for (const [pattern, input] of cases) {
      const schema = {
        type: "object",
        properties: { v: { type: "string", pattern }, list: { type: "array", items: { type: "string", pattern } } },
      };
      // 200 hostile strings: the first one exhausts the budget, the rest answer at once.
      const value = { v: input, list: Array.from({ length: 200 }, () => input) };
      const { value: result, ms } = timed(() => enforceSchema(schema, value));
      console.log(
        `schema abuse: pattern ${pattern} over 201 hostile strings → ${ms.toFixed(0)} ms (budget ${PATTERN_TIME_BUDGET_MS} + ${PATTERN_CONFIRM_BUDGET_MS} ms)`,
      );
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors.join(" ")).toMatch(/must match pattern/);
      // The bounded engine itself still answers normal matches.
      expect(boundedRegExp(pattern, "u").test(pattern.includes("x$") ? "12x" : "aaa")).toBe(true);
    }
  });
});

describe("10,000 distinct schemas", () => {
  it("validates each within budget and keeps the validator cache and its compilers bounded", () => {
    const before = schemaCacheStats();
    const heapBefore = process.memoryUsage().heapUsed;
    let slowest = 0;
    const started = performance.now();
    for (let i = 0; i < 10_000; i++) {
      const schema = {
        type: "object",
        properties: {
          [`field${i}`]: { type: "string", pattern: `^v${i}-\\d+$` },
          n: { type: "integer", minimum: i },
          tags: { type: "array", items: { type: "string" }, maxItems: (i % 50) + 1 },
        },
        required: [`field${i}`],
      };
      const t = performance.now();
      const check = validateOutputSchema(schema);
      const enforced = enforceSchema(schema, { [`field${i}`]: `v${i}-42`, n: i + 1, tags: ["a"], extra: 1 });
      slowest = Math.max(slowest, performance.now() - t);
      expect(check.ok).toBe(true);
      expect(enforced).toEqual({ ok: true, value: { [`field${i}`]: `v${i}-42`, n: i + 1, tags: ["a"] } });
    }
    const totalMs = performance.now() - started;
    const stats = schemaCacheStats();
    // Ajv keeps every compiled function of an instance in its code scope: count what the live one holds.
    const scope = (schemaAjv() as unknown as { scope: { _values: Record<string, Map<unknown, unknown>> } }).scope;
    const scopeValues = Object.values(scope._values).reduce((n, m) => n + m.size, 0);
    console.log(
      `schema abuse: 10,000 distinct schemas in ${(totalMs / 1000).toFixed(1)} s, slowest ${slowest.toFixed(1)} ms; ` +
        `cache ${stats.entries}/${stats.maxEntries}, ${stats.compilerGenerations} compiler generations, ` +
        `${scopeValues} values in the live compiler scope, heap +${((process.memoryUsage().heapUsed - heapBefore) / 1e6).toFixed(0)} MB`,
    );
    expect(stats.entries).toBe(SCHEMA_CACHE_MAX_ENTRIES);
    expect(stats.compiledByCurrentCompiler).toBeLessThanOrEqual(SCHEMA_CACHE_MAX_ENTRIES);
    expect(stats.compilerGenerations - before.compilerGenerations).toBeGreaterThanOrEqual(
      Math.floor(10_000 / SCHEMA_CACHE_MAX_ENTRIES) - 1,
    );
    // A handful of values per compiled schema, for at most one generation's worth of schemas.
    expect(scopeValues).toBeLessThanOrEqual(SCHEMA_CACHE_MAX_ENTRIES * 4 + 50);
    // The cache still hits: the same schema (keys in another order) returns the cached validator.
    const again = { required: ["field9999"], type: "object", properties: { n: { minimum: 9999, type: "integer" } } };
    expect(getSchemaValidator(again)).toBe(getSchemaValidator({ ...again }));
  }, 120_000);
});
