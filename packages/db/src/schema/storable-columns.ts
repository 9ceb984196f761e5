import { customType } from "drizzle-orm/pg-core";

/**
 * `\u0000` escapes, and escapes of surrogates, preceded by an even run of backslashes (so they are
 * escapes, not the text "\u0000" written with an escaped backslash).
 */
const REFUSED_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(0000|[dD][89a-fA-F][0-9a-fA-F]{2})/g;

/**
 * JSON text (from JSON.stringify) that Postgres's jsonb accepts: it refuses the NUL character
 * (`\u0000`) and unpaired surrogates, which a page's script or a model can put in a string. NULs
 * are removed and unpaired surrogates become U+FFFD, as a UTF-8 encoder makes them in text columns.
 * JSON.stringify escapes a surrogate only when it is unpaired, so every surrogate escape here is one.
 */
export function storableJson(json: string): string {
  if (!json.includes("\\u")) return json;
  return json.replace(REFUSED_ESCAPE, (_, lead: string, code: string) => (code === "0000" ? lead : `${lead}\\ufffd`));
}

/**
 * A jsonb column (as drizzle's own) whose written values are made storable ({@link storableJson}),
 * so that a result holding such a character is written instead of failing its job.
 */
export const jsonb = customType<{ data: unknown; driverData: string }>({
  dataType: () => "jsonb",
  toDriver: (value) => storableJson(JSON.stringify(value)),
  // node-postgres has parsed it already: a string here is a jsonb string, not JSON text.
  fromDriver: (value) => value,
});

/**
 * A text column for text a page or a model wrote (a page's title, an error naming what it saw):
 * NUL characters, which Postgres refuses in text, are removed. (An unpaired surrogate needs nothing:
 * the driver's UTF-8 encoding makes it U+FFFD.)
 */
export const storableText = customType<{ data: string; driverData: string }>({
  dataType: () => "text",
  toDriver: (value) => withoutNul(value),
});

/** `text` without NUL characters: for text written through raw SQL, which skips the column's encoder. */
export function withoutNul(text: string): string {
  return text.includes("\0") ? text.replaceAll("\0", "") : text;
}
