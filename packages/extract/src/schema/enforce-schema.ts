// Guarantees the output shape promised by contract §5.3: whatever the model
// answered, the value handed back either matches the schema or is reported
// as not matching (so the caller can run a repair round or fall back).
import { conformValue } from "./conform-value.ts";
import { formatAjvErrors, getSchemaValidator } from "./schema-validator-cache.ts";

export { makeStrictCompatible } from "./make-strict-compatible.ts";

export type EnforcementResult = { ok: true; value: unknown } | { ok: false; errors: string[]; value: unknown };

/**
 * Conforms `value` to `schema` (see conformValue: extra fields removed deep,
 * safe coercions, missing `required` fields set to null, optional fields with
 * an out-of-enum value set to null) and validates the result with Ajv, where
 * any object property may be null. `value` is never modified; the returned
 * `value` is the conformed copy, also when `ok` is false (errors then read
 * like `/category must be equal to one of the allowed values: "book", "toy"`).
 */
export function enforceSchema(schema: object, value: unknown): EnforcementResult {
  let validator;
  try {
    validator = getSchemaValidator(schema);
  } catch (err) {
    return { ok: false, errors: [`schema could not be compiled: ${String(err)}`], value };
  }
  const conformed = conformValue(validator.schema, value);
  if (validator.validate(conformed)) return { ok: true, value: conformed };
  return { ok: false, errors: formatAjvErrors(validator.validate.errors), value: conformed };
}
