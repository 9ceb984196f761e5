import type { TObject } from "@sinclair/typebox";
import type { FastifyRequest } from "fastify";

/**
 * A `preValidation` hook that reads a top-level `null` in a body's optional field as the field
 * absent: clients that serialise unset options as `null` mean "not set". It runs before validation
 * because the gateway's Ajv coerces types, and would turn such a null into `0` (`maxDepth: null`
 * would crawl the base URL only), `""` or `[""]` (`includePaths: null`). Required fields keep their
 * null, which validation refuses.
 */
export function nullMeansAbsent(schema: TObject): (request: FastifyRequest) => Promise<void> {
  const required = new Set(schema.required ?? []);
  const optional = Object.keys(schema.properties).filter((key) => !required.has(key));
  return async (request) => {
    const body = request.body;
    if (typeof body !== "object" || body === null || Array.isArray(body)) return;
    const fields = body as Record<string, unknown>;
    for (const key of optional) {
      if (Object.hasOwn(fields, key) && fields[key] === null) delete fields[key];
    }
  };
}
