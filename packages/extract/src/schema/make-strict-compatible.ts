// Structured outputs (`strict: true`) accept only a small JSON Schema subset:
// every object closed and listing all its properties as required, no
// validation keywords on many servers. Optional fields become nullable so
// the model can still say "not found"; enforceSchema re-checks the rest.
import { sanitizeSchema } from "./sanitize-schema.ts";
import { declaredTypes, isPlainObject, withNull } from "./schema-node.ts";
import type { SchemaNode } from "./schema-node.ts";

/** A value of unknown type still needs a `type` under strict mode; scalars (or null) are the safe superset. */
const ANY_SCALAR: SchemaNode = { type: ["string", "number", "boolean", "null"] };

function strictNode(node: SchemaNode): SchemaNode {
  const out: SchemaNode = {};
  let types = declaredTypes(node);
  if (types.length === 0 && isPlainObject(node.properties)) types = ["object"];
  if (types.length === 0 && isPlainObject(node.items)) types = ["array"];
  if (types.length > 0) out.type = types.length === 1 ? types[0] : types;
  if (typeof node.description === "string") out.description = node.description;
  if ("const" in node) out.enum = [node.const];
  else if (Array.isArray(node.enum)) out.enum = node.enum;

  if (types.includes("object")) {
    const props = isPlainObject(node.properties) ? node.properties : {};
    const required = new Set(Array.isArray(node.required) ? node.required : []);
    const strictProps: Record<string, SchemaNode> = {};
    for (const [name, child] of Object.entries(props)) {
      const converted = strictNode(isPlainObject(child) ? child : {});
      strictProps[name] = required.has(name) ? converted : withNull(converted);
    }
    out.properties = strictProps;
    out.required = Object.keys(strictProps);
    // Free-form maps cannot be expressed under strict mode; they come back empty.
    out.additionalProperties = false;
  }
  if (types.includes("array")) out.items = isPlainObject(node.items) ? strictNode(node.items) : { ...ANY_SCALAR };
  if (out.type === undefined && out.enum === undefined) return { ...ANY_SCALAR, ...out };
  return out;
}

/**
 * Returns the variant of `schema` that OpenAI structured outputs
 * (`strict: true`) accept: unsupported keywords dropped (as in
 * validateOutputSchema), `additionalProperties: false` on every object, all
 * properties listed in `required` with the non-required ones made nullable,
 * `const` turned into a one-value `enum`, validation keywords (min/max,
 * pattern, format…) removed for portability — enforceSchema checks them
 * afterwards. Only `type`, `properties`, `required`, `additionalProperties`,
 * `items`, `enum` and `description` remain. The root is not wrapped: a root
 * array must be wrapped in an object by the caller (the Llm client does).
 */
export function makeStrictCompatible(schema: object): SchemaNode {
  return strictNode(sanitizeSchema(schema as SchemaNode).schema);
}
