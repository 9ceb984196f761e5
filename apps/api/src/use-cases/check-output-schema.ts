import { validateOutputSchema } from "@orbweaver/extract";
import { AppError } from "../errors.ts";

/**
 * Checks a JSON Schema given for structured extraction before anything is queued: a malformed,
 * too deep or too large schema is a 422 with `errors[]`; unsupported keywords are ignored and come
 * back as warnings (`schema_warnings` on submit and on every poll).
 */
export function checkOutputSchema(schema: Record<string, unknown> | undefined): string[] {
  if (!schema) return [];
  const check = validateOutputSchema(schema);
  if (!check.ok) throw new AppError("SCHEMA_INVALID", `Invalid schema: ${check.errors[0]}`, { errors: check.errors });
  return check.warnings;
}
