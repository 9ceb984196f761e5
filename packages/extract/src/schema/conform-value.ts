// Reshapes a model answer towards a (sanitized) schema before validation:
// prunes fields outside the schema, applies safe type coercions, fills missing
// required fields with null. Ajv's own coerceTypes is not used because it turns
// null into ""/0/false, which would destroy the contract's "null if not found".
import { jsonEqual } from "./canonical-json.ts";
import { declaredTypes, isPlainObject } from "./schema-node.ts";
import type { SchemaNode } from "./schema-node.ts";

const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function matchesType(type: string, value: unknown): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "boolean":
      return typeof value === "boolean";
    case "array":
      return Array.isArray(value);
    case "object":
      return isPlainObject(value);
    case "null":
      return value === null;
    default:
      return false;
  }
}

/** One lossless conversion towards `type`, or undefined when none is safe. */
function coerceTo(type: string, value: unknown): unknown {
  if ((type === "number" || type === "integer") && typeof value === "string" && NUMERIC.test(value.trim())) {
    const n = Number(value.trim());
    return type === "integer" && !Number.isInteger(n) ? undefined : n;
  }
  if (type === "boolean" && typeof value === "string") {
    const word = value.trim().toLowerCase();
    return word === "true" ? true : word === "false" ? false : undefined;
  }
  if (type === "string" && (typeof value === "number" || typeof value === "boolean")) return String(value);
  if (type === "array" && !Array.isArray(value)) return [value];
  // A lone object wrapped in an array is unambiguous; more elements are not.
  if (type === "object" && Array.isArray(value) && value.length === 1 && isPlainObject(value[0])) return value[0];
  return undefined;
}

function coerce(types: string[], value: unknown): unknown {
  if (types.length === 0 || types.some((t) => matchesType(t, value))) return value;
  for (const type of types) {
    const converted = coerceTo(type, value);
    if (converted !== undefined) return converted;
  }
  return value;
}

function enumOf(node: SchemaNode): unknown[] | undefined {
  if ("const" in node) return [node.const];
  return Array.isArray(node.enum) ? node.enum : undefined;
}

/** Maps a case-variant of exactly one allowed string ("Full_Time") onto it. */
function matchEnum(allowed: unknown[], value: unknown): unknown {
  if (typeof value !== "string" || allowed.some((a) => jsonEqual(a, value))) return value;
  const lower = value.trim().toLowerCase();
  const hits = allowed.filter((a) => typeof a === "string" && a.toLowerCase() === lower);
  return hits.length === 1 ? hits[0] : value;
}

function conformObject(node: SchemaNode, obj: Record<string, unknown>): Record<string, unknown> {
  const props = isPlainObject(node.properties) ? node.properties : undefined;
  const extra = node.additionalProperties;
  // A schema without properties that does not forbid extras describes a free-form map.
  if (!props && extra !== false && !isPlainObject(extra)) return structuredClone(obj);

  const required = new Set(Array.isArray(node.required) ? node.required.filter((r) => typeof r === "string") : []);
  const out: Record<string, unknown> = {};
  for (const [name, child] of Object.entries(props ?? {})) {
    const value = obj[name];
    if (value === undefined || !isPlainObject(child)) continue;
    const conformed = conformValue(child, value);
    const allowed = enumOf(child);
    // An optional field with a value outside its enum is treated as "not found".
    out[name] =
      allowed && !required.has(name) && conformed !== null && !allowed.some((a) => jsonEqual(a, conformed))
        ? null
        : conformed;
  }
  for (const [name, value] of Object.entries(obj)) {
    if (props && name in props) continue;
    // Extra fields survive only when the schema explicitly allows them.
    if (isPlainObject(extra)) out[name] = conformValue(extra, value);
    else if (extra === true) out[name] = structuredClone(value);
  }
  for (const name of required) if (out[name] === undefined) out[name] = null;
  return out;
}

/**
 * Returns a new value shaped by `node`: extra object fields removed (unless
 * `additionalProperties` is `true` or a schema), safe coercions applied
 * ("39.99"→39.99, "1"→1 for integers, "true"→true, numbers/booleans→strings,
 * x→[x] for arrays, [obj]→obj for objects, case-variants of enum strings),
 * required fields filled with null. Values it cannot fix are left for the
 * validator to report.
 */
export function conformValue(node: SchemaNode, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  let types = declaredTypes(node);
  if (types.length === 0 && isPlainObject(node.properties)) types = ["object"];
  if (types.length === 0 && isPlainObject(node.items)) types = ["array"];
  const coerced = coerce(types, value);

  if (isPlainObject(coerced) && (types.includes("object") || types.length === 0)) return conformObject(node, coerced);
  if (Array.isArray(coerced) && (types.includes("array") || types.length === 0)) {
    const items = isPlainObject(node.items) ? node.items : undefined;
    return items ? coerced.map((item) => conformValue(items, item)) : structuredClone(coerced);
  }
  const allowed = enumOf(node);
  return allowed ? matchEnum(allowed, coerced) : coerced;
}
