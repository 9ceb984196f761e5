// Request bodies derived from the contract's TypeBox schemas, for the abuse and fuzz tests: every
// field of every submit body, and a validator that judges a body the way the gateway does (same
// Ajv options, coercion included), so "a wrong type" means "wrong even after the gateway's coercion".
import { BatchScrapeRequest, CrawlRequest, MAX_INSTRUCTION_CHARS, ScrapeRequest } from "@orbweaver/contract";
import { Type, type TSchema } from "@sinclair/typebox";
import { Ajv } from "ajv";

/** POST /crawl/{id}/extract has no body schema in the route; its rules (§8.3) as a schema. */
export const CrawlExtractRequest = Type.Object(
  { transformInstruction: Type.String({ minLength: 1, maxLength: MAX_INSTRUCTION_CHARS }) },
  { additionalProperties: true },
);

export type SubmitName = "scrape" | "batch" | "crawl" | "crawl extract";

export interface Submit {
  name: SubmitName;
  /** Path under the API prefix. */
  path: string;
  schema: TSchema;
  /** A body the gateway accepts (every field present, all valid). */
  valid: Record<string, unknown>;
  /** README: on /scrape, /batch/scrape and /crawl an optional top-level field sent as null is unset. */
  nullMeansAbsent: boolean;
  /** The array field whose objects read a null optional field as unset too (`urls` on /scrape). */
  nullMeansAbsentInItems?: string;
}

/** The four submit routes with a fully populated valid body each; `target` is a URL the gateway accepts. */
export function submits(target: string, crawlId: string): Submit[] {
  const schema = { type: "object", properties: { title: { type: "string" } } };
  return [
    {
      name: "scrape",
      nullMeansAbsent: true,
      nullMeansAbsentInItems: "urls",
      path: "/scrape",
      schema: ScrapeRequest,
      valid: {
        urls: [
          {
            url: target,
            actions: [{ type: "wait", duration: 0 }],
            instruction: "read it",
            cookies: [{ name: "a", value: "b", domain: new URL(target).hostname }],
          },
        ],
        prompt: "the title",
        output: "json",
        schema,
        useProxy: false,
        proxyCountry: "us",
        extractContentOnly: false,
        screenshot: false,
        fullPageScreenshot: false,
        cookies: "c=d",
        scrapeMode: "default",
      },
    },
    {
      name: "batch",
      nullMeansAbsent: true,
      path: "/batch/scrape",
      schema: BatchScrapeRequest,
      valid: {
        urls: [target, { url: target }],
        prompt: "the title",
        output: "json",
        schema,
        useProxy: false,
        proxyCountry: "us",
        extractContentOnly: false,
        screenshot: false,
        fullPageScreenshot: false,
        cookies: "c=d",
        scrapeMode: "default",
      },
    },
    {
      name: "crawl",
      nullMeansAbsent: true,
      path: "/crawl",
      schema: CrawlRequest,
      valid: {
        baseUrl: target,
        crawlInstruction: "Find all pages on the website",
        transformInstruction: "the title",
        schema,
        maxPages: 1,
        maxDepth: 0,
        includePaths: ["/"],
        excludePaths: ["/private"],
        allowSubdomains: false,
        crawlEntireDomain: false,
        ignoreQueryParams: false,
        webhookUrl: target,
        useProxy: false,
        proxyCountry: "us",
        cookies: [{ name: "a", value: "b" }],
        scrapeMode: "default",
      },
    },
    {
      name: "crawl extract",
      nullMeansAbsent: false,
      path: `/crawl/${crawlId}/extract`,
      schema: CrawlExtractRequest,
      valid: { transformInstruction: "the title" },
    },
  ];
}

/**
 * Validators with the gateway's Ajv options (apps/api/src/app.ts), and, where the route documents
 * it, a null in an optional top-level field read as the field left out. Validation may coerce and
 * drop such nulls: pass a copy.
 */
export function gatewayValidator(
  schema: TSchema,
  opts: { nullMeansAbsent: boolean; nullMeansAbsentInItems?: string },
): (body: unknown) => boolean {
  const ajv = new Ajv({
    coerceTypes: "array",
    removeAdditional: false,
    useDefaults: true,
    allErrors: true,
    strict: false,
  });
  const validate = ajv.compile(schema);
  const required = new Set<string>((schema.required as string[] | undefined) ?? []);
  const itemsField = opts.nullMeansAbsentInItems;
  const itemSchema = itemsField
    ? objectBranch((schema.properties as Record<string, TSchema>)[itemsField]!.items as TSchema)
    : undefined;
  const itemRequired = new Set<string>((itemSchema?.required as string[] | undefined) ?? []);
  const dropNulls = (value: unknown, keep: Set<string>) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return;
    const fields = value as Record<string, unknown>;
    for (const key of Object.keys(fields)) if (fields[key] === null && !keep.has(key)) delete fields[key];
  };
  return (body) => {
    if (opts.nullMeansAbsent) dropNulls(body, required);
    if (itemsField && typeof body === "object" && body !== null) {
      const items = (body as Record<string, unknown>)[itemsField];
      if (Array.isArray(items)) for (const item of items) dropNulls(item, itemRequired);
    }
    return validate(body);
  };
}

export type Path = Array<string | number>;

function isObjectSchema(s: TSchema): boolean {
  return s.type === "object" && typeof s.properties === "object";
}

/** The object branch of a union (`urls` items, crawl `cookies`), else the schema itself. */
function objectBranch(s: TSchema): TSchema {
  const branches = (s.anyOf ?? s.oneOf) as TSchema[] | undefined;
  if (!branches) return s;
  return branches.find(isObjectSchema) ?? branches.find((b) => b.type === "array") ?? s;
}

/**
 * Every field path the schema declares, walked into objects and into the first element of arrays
 * (`["urls", 0, "cookies", 0, "name"]`), parents before children.
 */
export function fieldPaths(schema: TSchema, at: Path = []): Path[] {
  const s = objectBranch(schema);
  const out: Path[] = [];
  if (isObjectSchema(s)) {
    for (const [name, child] of Object.entries(s.properties as Record<string, TSchema>)) {
      out.push([...at, name], ...fieldPaths(child, [...at, name]));
    }
  } else if (s.type === "array" && s.items && !Array.isArray(s.items)) {
    out.push(...fieldPaths(s.items as TSchema, [...at, 0]));
  }
  return out;
}

/** A deep copy of `body` with `value` at `path` (missing containers are created). */
export function withValue(body: unknown, path: Path, value: unknown): Record<string, unknown> {
  const copy = structuredClone(body) as Record<string, unknown>;
  let node: Record<string | number, unknown> = copy;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    let next = node[key];
    if (typeof next !== "object" || next === null) {
      next = typeof path[i + 1] === "number" ? [] : {};
      node[key] = next;
    }
    // A string batch URL cannot hold fields: walk into its object form instead.
    node = next as Record<string | number, unknown>;
  });
  return copy;
}

/** Values of every JSON type (and a few awkward ones) to put in a field. */
export const CANDIDATE_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  "",
  "not a valid value \u2603",
  [],
  [1, 2],
  [[]],
  {},
  { x: 1 },
];

export const pathName = (path: Path): string =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
