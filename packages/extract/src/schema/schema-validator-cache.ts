// Compiled Ajv validators, cached by a hash of the schema's canonical JSON:
// every job carries its own parsed copy of the schema, so object identity
// would never hit, while compiling costs milliseconds per schema.
import { Ajv } from "ajv";
import type { ErrorObject, ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import type { FormatsPlugin } from "ajv-formats";
import { hashJson } from "./canonical-json.ts";
import { boundedRegExp } from "./safe-pattern.ts";
import { sanitizeSchema } from "./sanitize-schema.ts";
import { isPlainObject, withNull } from "./schema-node.ts";
import type { SchemaNode } from "./schema-node.ts";

/** Compiled validators kept; least recently used ones are evicted beyond this. */
export const SCHEMA_CACHE_MAX_ENTRIES = 256;

export interface SchemaValidator {
  /** sha256 (hex) of the canonical JSON of the schema as received. */
  hash: string;
  /** The enforceable subset of the schema (unsupported keywords dropped). */
  schema: SchemaNode;
  /** Ajv validator for conformed values; every object property also accepts null. */
  validate: ValidateFunction;
  /** Dropped keywords and compile-time notices (e.g. unknown formats). */
  warnings: string[];
}

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default
// import is module.exports, whose `default` member is the plugin itself.
const addFormats = (addFormatsModule as unknown as { default: FormatsPlugin }).default;

// Ajv reports ignored unknown formats through its logger; compile() is
// synchronous, so a module-level sink scoped to one compile call is safe.
let compileNotices: string[] | undefined;

function createCompiler(): Ajv {
  const instance = new Ajv({
    strict: false,
    allErrors: true,
    // `pattern` runs under a time budget: a catastrophic regex cannot hang the worker. Validators are
    // compiled per distinct schema and run on a few values per job: the optimiser pass costs more
    // compile time (about a third) than it saves.
    code: { regExp: boundedRegExp, optimize: false },
    logger: {
      log: () => undefined,
      warn: (...args: unknown[]) => compileNotices?.push(args.map(String).join(" ")),
      error: (...args: unknown[]) => compileNotices?.push(args.map(String).join(" ")),
    },
  });
  addFormats(instance);
  return instance;
}

// Ajv keeps every compiled function, schema and pattern of an instance in its code scope for the
// instance's lifetime (removeSchema does not release them), so one long-lived instance grows with
// every distinct schema. After SCHEMA_CACHE_MAX_ENTRIES compiles the instance is replaced; the old one
// lives only as long as cached validators still use it, which bounds memory to two generations.
let ajv = createCompiler();
let compiledByCurrent = 0;
let generations = 1;

/** The current Ajv instance, also used to check schemas against the meta-schema. */
export function schemaAjv(): Ajv {
  return ajv;
}

function compilerForNextSchema(): Ajv {
  if (compiledByCurrent >= SCHEMA_CACHE_MAX_ENTRIES) {
    ajv = createCompiler();
    compiledByCurrent = 0;
    generations++;
  }
  compiledByCurrent++;
  return ajv;
}

/**
 * The contract makes `required` fields "null if not found" and lets the model
 * answer null for absent optional ones, so validation accepts null for every
 * object property (but not for array items or the root).
 */
function toValidationSchema(node: SchemaNode): SchemaNode {
  const out: SchemaNode = { ...node };
  if (isPlainObject(node.properties)) {
    const props: Record<string, SchemaNode> = {};
    for (const [name, child] of Object.entries(node.properties)) {
      props[name] = isPlainObject(child) ? withNull(toValidationSchema(child)) : {};
    }
    out.properties = props;
  }
  if (isPlainObject(node.items)) out.items = toValidationSchema(node.items);
  if (isPlainObject(node.additionalProperties)) {
    out.additionalProperties = withNull(toValidationSchema(node.additionalProperties));
  }
  return out;
}

const cache = new Map<string, SchemaValidator>();

/**
 * Compiled validator for `schema`, cached by content hash (two equal schema
 * objects return the same instance). Throws when Ajv cannot compile it; call
 * validateOutputSchema first to get readable errors instead.
 */
export function getSchemaValidator(schema: object): SchemaValidator {
  const hash = hashJson(schema);
  const hit = cache.get(hash);
  if (hit) {
    // Re-insert to mark as most recently used (Map keeps insertion order).
    cache.delete(hash);
    cache.set(hash, hit);
    return hit;
  }
  const { schema: sanitized, warnings } = sanitizeSchema(schema as SchemaNode);
  const validationSchema = toValidationSchema(sanitized);
  compileNotices = [];
  const compiler = compilerForNextSchema();
  let validate: ValidateFunction;
  try {
    validate = compiler.compile(validationSchema);
  } finally {
    // Ajv also caches by object identity; drop that entry or it grows forever.
    compiler.removeSchema(validationSchema);
    warnings.push(...compileNotices);
    compileNotices = undefined;
  }
  const entry: SchemaValidator = { hash, schema: sanitized, validate, warnings };
  cache.set(hash, entry);
  if (cache.size > SCHEMA_CACHE_MAX_ENTRIES) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  return entry;
}

/** Sizes of the validator cache and its compilers, for tests and diagnostics. */
export function schemaCacheStats(): {
  entries: number;
  maxEntries: number;
  compiledByCurrentCompiler: number;
  compilerGenerations: number;
} {
  return {
    entries: cache.size,
    maxEntries: SCHEMA_CACHE_MAX_ENTRIES,
    compiledByCurrentCompiler: compiledByCurrent,
    compilerGenerations: generations,
  };
}

/** Formats Ajv errors as `/path message`, listing allowed values for enum errors. */
export function formatAjvErrors(errors: ErrorObject[] | null | undefined, root = "(root)"): string[] {
  const out: string[] = [];
  for (const err of errors ?? []) {
    const params = err.params as { allowedValues?: unknown; type?: unknown };
    // Ajv writes type lists as "number,null"; the repair prompt reads better with words.
    const message =
      err.keyword === "type" && (typeof params.type === "string" || Array.isArray(params.type))
        ? `must be ${String(params.type).split(",").join(" or ")}`
        : (err.message ?? "is invalid");
    let text = `${err.instancePath || root} ${message}`;
    const allowed = params.allowedValues;
    if (err.keyword === "enum" && Array.isArray(allowed)) {
      text += `: ${allowed.map((v) => JSON.stringify(v)).join(", ")}`;
    }
    if (!out.includes(text)) out.push(text);
  }
  return out;
}
