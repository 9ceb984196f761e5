// Gatekeeper for the `schema` request field, run before a job is queued
// (contract §5.1: malformed → 422 with errors[]; warnings → schema_warnings).
import { getSchemaValidator, schemaAjv } from "./schema-validator-cache.ts";
import { sanitizeSchema } from "./sanitize-schema.ts";
import { patternProblem } from "./safe-pattern.ts";
import { childSchemas, declaredTypes, isContainer, isPlainObject, pointerSegment } from "./schema-node.ts";
import type { SchemaNode } from "./schema-node.ts";

/** Maximum nesting of object/array schemas, the root counting as level 1 (contract: 5). */
export const MAX_SCHEMA_DEPTH = 5;
/** Maximum size of the schema serialised as JSON, in bytes (contract: 10 KB). */
export const MAX_SCHEMA_BYTES = 10 * 1024;

/**
 * Deepest JSON nesting (objects and arrays, annotations included) looked at: Ajv's meta-schema check
 * recurses once per level and overflows the stack near 1,000; a 5-level schema needs about 12.
 */
export const MAX_SCHEMA_JSON_DEPTH = 32;

export type OutputSchemaCheck = { ok: true; warnings: string[] } | { ok: false; errors: string[] };

/**
 * Depth counts nested object/array schemas only (root = 1); scalar leaves do
 * not add a level, so `{a: {b: string}}` has depth 2.
 */
function schemaDepth(node: SchemaNode): number {
  const below = Math.max(0, ...childSchemas(node).map(schemaDepth));
  return (isContainer(node) ? 1 : 0) + below;
}

/** True when `value` nests objects/arrays deeper than `limit` (iterative: no recursion to overflow). */
function jsonDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<{ node: unknown; depth: number }> = [{ node: value, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    if (depth > limit) return true;
    for (const child of Object.values(node)) stack.push({ node: child, depth: depth + 1 });
  }
  return false;
}

/** One error per `pattern` (in the kept part of the schema) that could backtrack catastrophically. */
function patternErrors(node: SchemaNode, path: string): string[] {
  const errors: string[] = [];
  if (typeof node.pattern === "string") {
    const problem = patternProblem(node.pattern);
    if (problem) errors.push(`schema${path}/pattern ${problem}`);
  }
  if (isPlainObject(node.properties)) {
    for (const [name, child] of Object.entries(node.properties)) {
      if (isPlainObject(child)) errors.push(...patternErrors(child, `${path}/properties/${pointerSegment(name)}`));
    }
  }
  for (const key of ["items", "additionalProperties"] as const) {
    const child = node[key];
    if (isPlainObject(child)) errors.push(...patternErrors(child, `${path}/${key}`));
  }
  return errors;
}

/** Ajv meta-schema errors, one per schema location (Ajv also reports each failed anyOf branch). */
function metaSchemaErrors(schema: SchemaNode): string[] {
  const ajv = schemaAjv();
  // $schema would make Ajv look for that meta-schema (2020-12 is not loaded);
  // it is accepted and ignored, like the other annotations.
  const { $schema: _ignored, ...rest } = schema;
  if (ajv.validateSchema(rest) === true) return [];
  const seen = new Set<string>();
  const errors: string[] = [];
  for (const err of ajv.errors ?? []) {
    if (seen.has(err.instancePath)) continue;
    seen.add(err.instancePath);
    // An enum names its values: `type: "decimal"` is answered with the types there are.
    const allowed = (err.params as { allowedValues?: unknown[] }).allowedValues;
    errors.push(`schema${err.instancePath} ${err.message ?? "is invalid"}${allowed ? ` (${allowed.join(", ")})` : ""}`);
  }
  return errors;
}

/**
 * Validates a user-supplied output schema.
 *
 * Rules: it must be a JSON object no larger than 10 KB; valid JSON Schema
 * (draft-07 meta-schema, `$schema` ignored); its root must be
 * `type: "object"` or `type: "array"` (optionally also allowing null) —
 * primitive roots are rejected because the result must be structured; object
 * and array schemas may nest at most 5 levels. Keywords we do not enforce
 * (anyOf, oneOf, allOf, not, $ref, $defs, if/then/else, patternProperties,
 * propertyNames, dependencies, unevaluated*, contains, prefixItems, tuple
 * `items`, unknown keywords…) are ignored and reported as warnings; a nullable
 * union `anyOf: [X, {type: "null"}]` is understood as X-or-null. A `pattern`
 * that could backtrack catastrophically is refused (see patternProblem).
 * References are never resolved: `$ref`, `$schema` and `$id` are dropped, so
 * nothing is ever fetched.
 */
export function validateOutputSchema(schema: unknown): OutputSchemaCheck {
  if (!isPlainObject(schema)) return { ok: false, errors: ["schema must be a JSON object"] };
  if (jsonDeeperThan(schema, MAX_SCHEMA_JSON_DEPTH)) {
    return { ok: false, errors: [`schema is nested more than ${MAX_SCHEMA_JSON_DEPTH} levels deep as JSON`] };
  }

  let bytes: number;
  try {
    bytes = Buffer.byteLength(JSON.stringify(schema), "utf8");
  } catch {
    return { ok: false, errors: ["schema must be serialisable as JSON"] };
  }
  if (bytes > MAX_SCHEMA_BYTES) {
    return { ok: false, errors: [`schema is ${bytes} bytes; the maximum is ${MAX_SCHEMA_BYTES} bytes (10 KB)`] };
  }

  const metaErrors = metaSchemaErrors(schema);
  if (metaErrors.length > 0) return { ok: false, errors: metaErrors };

  const errors: string[] = [];
  const { schema: sanitized } = sanitizeSchema(schema);
  const rootTypes = declaredTypes(sanitized).filter((t) => t !== "null");
  if (rootTypes.length !== 1 || (rootTypes[0] !== "object" && rootTypes[0] !== "array")) {
    const got = sanitized.type === undefined ? "no type" : JSON.stringify(sanitized.type);
    errors.push(`schema root must have type "object" or "array" (got ${got})`);
  }
  const depth = schemaDepth(sanitized);
  if (depth > MAX_SCHEMA_DEPTH) {
    errors.push(`schema nesting depth is ${depth}; the maximum is ${MAX_SCHEMA_DEPTH}`);
  }
  if (errors.length > 0) return { ok: false, errors };
  const unsafe = patternErrors(sanitized, "");
  if (unsafe.length > 0) return { ok: false, errors: unsafe };

  try {
    return { ok: true, warnings: [...getSchemaValidator(schema).warnings] };
  } catch (err) {
    return { ok: false, errors: [`schema could not be compiled: ${err instanceof Error ? err.message : String(err)}`] };
  }
}
