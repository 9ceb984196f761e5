// Structured outputs (`strict: true`) accept only a small JSON Schema subset:
// every object closed and listing all its properties as required, no
// validation keywords on many servers. Every property becomes nullable so the
// model can still say "not found" (contract §5.3: required fields are null
// when the page lacks them); enforceSchema re-checks the rest. Schemas whose
// free-form parts strict mode cannot express are sent non-strict instead.
import { sanitizeSchema } from "./sanitize-schema.ts";
import { declaredTypes, isPlainObject, withNull } from "./schema-node.ts";
import type { SchemaNode } from "./schema-node.ts";

/** A value of unknown type still needs a `type` under strict mode; scalars (or null) are the safe superset. */
const ANY_SCALAR: SchemaNode = { type: ["string", "number", "boolean", "null"] };

function nodeTypes(node: SchemaNode): string[] {
  const types = declaredTypes(node);
  if (types.length === 0 && isPlainObject(node.properties)) return ["object"];
  if (types.length === 0 && isPlainObject(node.items)) return ["array"];
  return types;
}

/** The description, with `format` (dropped as a keyword for portability) kept as a hint for the model. */
function describe(node: SchemaNode): string | undefined {
  const description = typeof node.description === "string" ? node.description : undefined;
  if (typeof node.format !== "string") return description;
  const hint = `format: ${node.format}`;
  return description ? `${description} (${hint})` : hint;
}

/**
 * True when the object node is a free-form map (no properties, extras not
 * forbidden) or allows extra properties (`true` or a schema) — what conformValue
 * keeps, and strict mode (every object closed) cannot express.
 */
function hasOpenProperties(node: SchemaNode): boolean {
  const extra = node.additionalProperties;
  return isPlainObject(extra) || extra === true || (!isPlainObject(node.properties) && extra !== false);
}

/**
 * `loose`: for a non-strict request, free-form maps, `additionalProperties` and
 * arrays without `items` are kept as the user wrote them instead of being closed.
 */
function convertNode(node: SchemaNode, loose: boolean): SchemaNode {
  const out: SchemaNode = {};
  const types = nodeTypes(node);
  if (types.length > 0) out.type = types.length === 1 ? types[0] : types;
  const description = describe(node);
  if (description !== undefined) out.description = description;
  if ("const" in node) out.enum = [node.const];
  else if (Array.isArray(node.enum)) out.enum = node.enum;

  if (types.includes("object")) {
    const props = isPlainObject(node.properties) ? node.properties : {};
    const strictProps: Record<string, SchemaNode> = {};
    // Nullable whether required or not: a required field the page lacks is null, not invented.
    for (const [name, child] of Object.entries(props)) {
      strictProps[name] = withNull(convertNode(isPlainObject(child) ? child : {}, loose));
    }
    out.properties = strictProps;
    out.required = Object.keys(strictProps);
    if (!loose || !hasOpenProperties(node)) out.additionalProperties = false;
    else if (isPlainObject(node.additionalProperties)) {
      out.additionalProperties = convertNode(node.additionalProperties, loose);
    }
  }
  if (types.includes("array")) {
    if (isPlainObject(node.items)) out.items = convertNode(node.items, loose);
    else if (!loose) out.items = { ...ANY_SCALAR };
  }
  if (!loose && out.type === undefined && out.enum === undefined) return { ...ANY_SCALAR, ...out };
  return out;
}

function hasFreeFormParts(node: SchemaNode): boolean {
  const types = nodeTypes(node);
  if (types.includes("object") && hasOpenProperties(node)) return true;
  if (types.includes("array") && !isPlainObject(node.items)) return true;
  const children = [
    ...(isPlainObject(node.properties) ? Object.values(node.properties) : []),
    node.items,
    node.additionalProperties,
  ];
  return children.some((child) => isPlainObject(child) && hasFreeFormParts(child));
}

/**
 * Returns the variant of `schema` that OpenAI structured outputs
 * (`strict: true`) accept: unsupported keywords dropped (as in
 * validateOutputSchema), `additionalProperties: false` on every object, all
 * properties listed in `required` and made nullable, `const` turned into a
 * one-value `enum`, validation keywords (min/max, pattern, format…) removed
 * for portability (`format` survives as a hint in `description`) —
 * enforceSchema checks them afterwards. Only `type`, `properties`,
 * `required`, `additionalProperties`, `items`, `enum` and `description`
 * remain. The root is not wrapped: a root array must be wrapped in an object
 * by the caller (the Llm client does).
 */
export function makeStrictCompatible(schema: object): SchemaNode {
  return convertNode(sanitizeSchema(schema as SchemaNode).schema, false);
}

/**
 * The schema to send for structured outputs, and whether to send it strict.
 * Free-form maps (`additionalProperties` true or a schema, objects without
 * properties) and arrays without `items` cannot be expressed under strict mode
 * (they would always come back empty or scalar-only), so such a schema is sent
 * non-strict, with those parts as written; enforceSchema then checks the shape.
 */
export function structuredOutputSchema(schema: object): { schema: SchemaNode; strict: boolean } {
  const sanitized = sanitizeSchema(schema as SchemaNode).schema;
  const strict = !hasFreeFormParts(sanitized);
  return { schema: convertNode(sanitized, !strict), strict };
}
