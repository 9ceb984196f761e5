// Reduces a user schema to the subset we enforce, collecting a warning for
// every keyword that is dropped (reported as `schema_warnings`, contract §5.1).
import {
  ANNOTATION_KEYWORDS,
  ENFORCED_KEYWORDS,
  isPlainObject,
  KEPT_ANNOTATIONS,
  pointerSegment,
  UNSUPPORTED_KEYWORDS,
  withNull,
} from "./schema-node.ts";
import type { SchemaNode } from "./schema-node.ts";

export interface SanitizedSchema {
  schema: SchemaNode;
  warnings: string[];
}

const where = (path: string): string => (path === "" ? "(root)" : path);

/** `{type: "null"}` possibly with annotations — the null branch of a nullable union. */
function isNullBranch(value: unknown): boolean {
  if (!isPlainObject(value) || value.type !== "null") return false;
  return Object.keys(value).every((key) => key === "type" || ANNOTATION_KEYWORDS.has(key));
}

/**
 * Zod (v4 `toJSONSchema`) and OpenAPI-style converters express "nullable X" as
 * `anyOf: [X, {type: "null"}]`. That one union is common and unambiguous, so it
 * is folded into X-or-null instead of being dropped with a warning.
 */
function foldNullableUnion(node: SchemaNode): SchemaNode | undefined {
  for (const key of ["anyOf", "oneOf"] as const) {
    const branches = node[key];
    if (!Array.isArray(branches) || branches.length !== 2) continue;
    const other = branches.find((b) => !isNullBranch(b));
    if (!isPlainObject(other) || !branches.some(isNullBranch)) continue;
    const rest: SchemaNode = { ...node };
    delete rest[key];
    return { ...rest, ...other };
  }
  return undefined;
}

function sanitizeNode(node: SchemaNode, path: string, warnings: string[]): SchemaNode {
  const folded = foldNullableUnion(node);
  if (folded) return withNull(sanitizeNode(folded, path, warnings));

  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "properties" && isPlainObject(value)) {
      const props: Record<string, SchemaNode> = {};
      for (const [name, child] of Object.entries(value)) {
        const childPath = `${path}/properties/${pointerSegment(name)}`;
        props[name] = isPlainObject(child) ? sanitizeNode(child, childPath, warnings) : {};
      }
      out.properties = props;
    } else if (key === "items" && Array.isArray(value)) {
      warnings.push(`Unsupported keyword "items" (tuple form) at ${where(path)} was ignored`);
    } else if ((key === "items" || key === "additionalProperties") && isPlainObject(value)) {
      out[key] = sanitizeNode(value, `${path}/${key}`, warnings);
    } else if (ENFORCED_KEYWORDS.has(key) || KEPT_ANNOTATIONS.has(key)) {
      out[key] = value;
    } else if (UNSUPPORTED_KEYWORDS.has(key)) {
      warnings.push(`Unsupported keyword "${key}" at ${where(path)} was ignored`);
    } else if (!ANNOTATION_KEYWORDS.has(key) && !key.startsWith("x-")) {
      warnings.push(`Unknown keyword "${key}" at ${where(path)} was ignored`);
    }
  }
  return out;
}

/**
 * Returns the enforceable subset of `schema` (a new object; the input is not
 * modified) and one warning per dropped keyword, e.g.
 * `Unsupported keyword "anyOf" at /properties/x was ignored`.
 */
export function sanitizeSchema(schema: SchemaNode): SanitizedSchema {
  const warnings: string[] = [];
  const sanitized = sanitizeNode(schema, "", warnings);
  return { schema: sanitized, warnings };
}
