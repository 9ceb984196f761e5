// Guarantees the output shape promised by contract §5.3: whatever the model
// answered, the value handed back either matches the schema or is reported
// as not matching (so the caller can run a repair round or fall back).
import { conformValue } from "./conform-value.ts";
import { formatAjvErrors, getSchemaValidator } from "./schema-validator-cache.ts";
import { isPlainObject } from "./schema-node.ts";
import type { SchemaNode } from "./schema-node.ts";

export { makeStrictCompatible } from "./make-strict-compatible.ts";

export type EnforcementResult =
  | {
      ok: true;
      value: unknown;
      /** With `nullInvalidOptional`: the JSON Pointers of the optional fields set to null (absent when none). */
      nulled?: string[];
    }
  | { ok: false; errors: string[]; value: unknown };

export interface EnforceOptions {
  /**
   * Set an optional field (a property not in its object's `required`, or an entry of an
   * `additionalProperties` map) whose value still fails its type, format or other keyword to null
   * instead of failing the whole value — the last resort after the repair round. Required fields
   * and array items are never nulled this way.
   */
  nullInvalidOptional?: boolean;
}

const unescapePointer = (segment: string): string => segment.replace(/~1/g, "/").replace(/~0/g, "~");

/** Sets the optional field at `pointer` (an Ajv instancePath) to null; false when it is not an optional field. */
function nullOptionalAt(schema: SchemaNode, value: unknown, pointer: string): boolean {
  const segments = pointer.split("/").slice(1).map(unescapePointer);
  const name = segments.pop();
  if (name === undefined) return false;
  let node: SchemaNode | undefined = schema;
  let container: unknown = value;
  for (const segment of segments) {
    if (!node) return false;
    if (Array.isArray(container)) {
      node = isPlainObject(node.items) ? node.items : undefined;
      container = container[Number(segment)];
    } else if (isPlainObject(container)) {
      node = propertyNode(node, segment);
      container = container[segment];
    } else {
      return false;
    }
  }
  if (!node || !isPlainObject(container) || container[name] === null) return false;
  const props = isPlainObject(node.properties) ? node.properties : {};
  const required = Array.isArray(node.required) ? node.required : [];
  const optional = name in props ? !required.includes(name) : isPlainObject(node.additionalProperties);
  if (!optional) return false;
  container[name] = null;
  return true;
}

function propertyNode(node: SchemaNode, name: string): SchemaNode | undefined {
  const props = isPlainObject(node.properties) ? node.properties : {};
  const child = name in props ? props[name] : node.additionalProperties;
  return isPlainObject(child) ? child : undefined;
}

/**
 * Conforms `value` to `schema` (see conformValue: extra fields removed deep,
 * safe coercions, missing `required` fields set to null, optional fields with
 * an out-of-enum value set to null) and validates the result with Ajv, where
 * any object property may be null. `value` is never modified; the returned
 * `value` is the conformed copy, also when `ok` is false (errors then read
 * like `/category must be equal to one of the allowed values: "book", "toy"`).
 */
export function enforceSchema(schema: object, value: unknown, opts: EnforceOptions = {}): EnforcementResult {
  let validator;
  try {
    validator = getSchemaValidator(schema);
  } catch (err) {
    return { ok: false, errors: [`schema could not be compiled: ${String(err)}`], value };
  }
  const conformed = conformValue(validator.schema, value);
  const nulled: string[] = [];
  let valid = validator.validate(conformed);
  // Nulling a field only removes errors (every property accepts null); one round nulls them all.
  if (!valid && opts.nullInvalidOptional) {
    const paths = new Set((validator.validate.errors ?? []).map((e) => e.instancePath));
    nulled.push(...[...paths].filter((path) => nullOptionalAt(validator.schema, conformed, path)));
    if (nulled.length > 0) valid = validator.validate(conformed);
  }
  if (valid) return nulled.length > 0 ? { ok: true, value: conformed, nulled } : { ok: true, value: conformed };
  return { ok: false, errors: formatAjvErrors(validator.validate.errors), value: conformed };
}
