import type { TObject } from "@sinclair/typebox";
import type { FastifyRequest } from "fastify";

/** Deletes the optional fields of `schema` that an object holds as `null`; anything else is left as is. */
function nullDropper(schema: TObject): (value: unknown) => void {
  const required = new Set(schema.required ?? []);
  const optional = Object.keys(schema.properties).filter((key) => !required.has(key));
  return (value) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return;
    const fields = value as Record<string, unknown>;
    for (const key of optional) {
      if (Object.hasOwn(fields, key) && fields[key] === null) delete fields[key];
    }
  };
}

/**
 * A `preValidation` hook that reads a top-level `null` in a body's optional field as the field
 * absent: clients that serialise unset options as `null` mean "not set". It runs before validation
 * because the gateway's Ajv coerces types, and would turn such a null into `0` (`maxDepth: null`
 * would crawl the base URL only), `""` or `[""]` (`includePaths: null`). Required fields keep their
 * null, which validation refuses.
 */
export function nullMeansAbsent(schema: TObject): (request: FastifyRequest) => Promise<void> {
  const drop = nullDropper(schema);
  return async (request) => drop(request.body);
}

/**
 * The same rule one level down, for the objects of an array field (`urls[i].actions: null` in a
 * scrape is a URL without actions, as `actions` left out; it would otherwise be coerced to
 * `[null]` and refused as "actions.0 must be object").
 */
export function nullMeansAbsentInItems(field: string, item: TObject): (request: FastifyRequest) => Promise<void> {
  const drop = nullDropper(item);
  return async (request) => {
    const body = request.body;
    if (typeof body !== "object" || body === null) return;
    const items = (body as Record<string, unknown>)[field];
    if (Array.isArray(items)) items.forEach(drop);
  };
}
