// Small shared vocabulary for walking user-supplied JSON Schemas.

/** A JSON Schema object as received on the wire (a parsed JSON object). */
export type SchemaNode = Record<string, unknown>;

/** Keywords we enforce after the model answered (through Ajv and the conform walker). */
export const ENFORCED_KEYWORDS: ReadonlySet<string> = new Set([
  "type",
  "properties",
  "required",
  "items",
  "additionalProperties",
  "enum",
  "const",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minLength",
  "maxLength",
  "pattern",
  "format",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
]);

/**
 * Annotations accepted silently (Zod converters and hand-written schemas carry
 * them). `$schema`/`$id` are dropped before compiling: Ajv would try to resolve
 * a 2020-12 meta-schema it does not load, and a shared Ajv instance rejects a
 * second schema with the same `$id`.
 */
export const ANNOTATION_KEYWORDS: ReadonlySet<string> = new Set([
  "$schema",
  "$id",
  "$comment",
  "title",
  "description",
  "default",
  "examples",
  "deprecated",
  "readOnly",
  "writeOnly",
]);

/** Keywords kept in the sanitized schema: enforced ones plus harmless annotations. */
export const KEPT_ANNOTATIONS: ReadonlySet<string> = new Set(["title", "description", "default", "examples"]);

/**
 * Keywords we know but do not enforce. They are dropped and reported as
 * warnings (contract §5.1: "unsupported keywords are ignored and reported").
 * Composition and references would need a full JSON Schema engine to coerce
 * and prune values against, and structured-output servers reject most of them.
 */
export const UNSUPPORTED_KEYWORDS: ReadonlySet<string> = new Set([
  "anyOf",
  "oneOf",
  "allOf",
  "not",
  "$ref",
  "$defs",
  "definitions",
  "$anchor",
  "$dynamicRef",
  "$dynamicAnchor",
  "$recursiveRef",
  "$recursiveAnchor",
  "$vocabulary",
  "if",
  "then",
  "else",
  "patternProperties",
  "propertyNames",
  "dependencies",
  "dependentRequired",
  "dependentSchemas",
  "unevaluatedProperties",
  "unevaluatedItems",
  "contains",
  "minContains",
  "maxContains",
  "prefixItems",
  "additionalItems",
  "contentMediaType",
  "contentEncoding",
  "contentSchema",
]);

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** JSON Pointer segment escaping (RFC 6901), for warning and error paths. */
export function pointerSegment(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** The declared types of a schema node; empty when it declares none. */
export function declaredTypes(node: SchemaNode): string[] {
  const { type } = node;
  if (typeof type === "string") return [type];
  if (Array.isArray(type)) return type.filter((t): t is string => typeof t === "string");
  return [];
}

/** True when the node describes an object or array (used for depth and root checks). */
export function isContainer(node: SchemaNode): boolean {
  const types = declaredTypes(node);
  return (
    types.includes("object") || types.includes("array") || isPlainObject(node.properties) || isPlainObject(node.items)
  );
}

/** Child schemas reachable through the keywords we keep: properties, items, additionalProperties. */
export function childSchemas(node: SchemaNode): SchemaNode[] {
  const out: SchemaNode[] = [];
  if (isPlainObject(node.properties)) {
    for (const child of Object.values(node.properties)) if (isPlainObject(child)) out.push(child);
  }
  if (isPlainObject(node.items)) out.push(node.items);
  if (isPlainObject(node.additionalProperties)) out.push(node.additionalProperties);
  return out;
}

/** Adds null to a node's allowed values (type list, enum) without touching other keywords. */
export function withNull(node: SchemaNode): SchemaNode {
  const out: SchemaNode = { ...node };
  const types = declaredTypes(node);
  if (types.length > 0 && !types.includes("null")) out.type = [...types, "null"];
  if ("const" in out) {
    out.enum = [out.const];
    delete out.const;
  }
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  return out;
}
