// Public surface of the output-schema module (validation before queueing, enforcement after the model answered).
export {
  validateOutputSchema,
  MAX_SCHEMA_BYTES,
  MAX_SCHEMA_DEPTH,
  MAX_SCHEMA_JSON_DEPTH,
} from "./validate-output-schema.ts";
export type { OutputSchemaCheck } from "./validate-output-schema.ts";
export { enforceSchema } from "./enforce-schema.ts";
export type { EnforcementResult } from "./enforce-schema.ts";
export { makeStrictCompatible, structuredOutputSchema } from "./make-strict-compatible.ts";
export { getSchemaValidator, schemaCacheStats, SCHEMA_CACHE_MAX_ENTRIES } from "./schema-validator-cache.ts";
export {
  patternProblem,
  MAX_PATTERN_LENGTH,
  PATTERN_TIME_BUDGET_MS,
  PATTERN_CONFIRM_BUDGET_MS,
} from "./safe-pattern.ts";
export type { SchemaValidator } from "./schema-validator-cache.ts";
export type { SchemaNode } from "./schema-node.ts";
