// Combines per-chunk answers into one: each chunk saw only part of the pages,
// so lists are unions and scalar fields take the first value found.
import { canonicalJson } from "../schema/canonical-json.ts";
import { isPlainObject } from "../schema/schema-node.ts";

/** Removes deep-equal duplicates (object key order ignored), keeping first occurrences. */
export function dedupeJson(values: unknown[]): unknown[] {
  const seen = new Set<string>();
  return values.filter((value) => {
    const key = canonicalJson(value);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function mergeTwo(a: unknown, b: unknown): unknown {
  if (a === null || a === undefined) return b;
  if (b === null || b === undefined) return a;
  if (Array.isArray(a) && Array.isArray(b)) return dedupeJson([...a, ...b]);
  if (isPlainObject(a) && isPlainObject(b)) {
    const out: Record<string, unknown> = {};
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) out[key] = mergeTwo(a[key], b[key]);
    return out;
  }
  // Two different scalars (or mismatched shapes): the earlier part of the pages wins.
  return a;
}

/**
 * Merges chunk answers in page order: arrays are concatenated and
 * de-duplicated, objects merged field by field preferring non-null values
 * (nested arrays concatenated and de-duplicated, first scalar wins).
 */
export function mergeJsonValues(values: unknown[]): unknown {
  let merged: unknown = null;
  for (const value of values) merged = mergeTwo(merged, value);
  return Array.isArray(merged) ? dedupeJson(merged) : merged;
}

const FENCED = /^```[a-zA-Z0-9_-]*[ \t]*\n([\s\S]*?)\n?```$/;

/** Models like to wrap a whole Markdown answer in a code fence; the contract wants the Markdown itself. */
export function stripOuterFence(text: string): string {
  const trimmed = text.trim();
  return FENCED.exec(trimmed)?.[1]?.trim() ?? trimmed;
}

const TABLE_SEPARATOR = /^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$/;

/** Joins per-chunk text answers; for tables, repeated header rows of later chunks are dropped. */
export function mergeTextAnswers(texts: string[], mode: "markdown" | "text" | "table"): string {
  const answers = texts.map(stripOuterFence).filter((t) => t);
  if (mode !== "table" || answers.length < 2) return answers.join("\n\n");

  const first = answers[0]?.split("\n") ?? [];
  const header = first[0]?.trim();
  const hasHeader = header !== undefined && TABLE_SEPARATOR.test(first[1]?.trim() ?? "");
  const rows = [...first];
  for (const answer of answers.slice(1)) {
    const lines = answer.split("\n");
    const sameHeader = hasHeader && lines[0]?.trim() === header && TABLE_SEPARATOR.test(lines[1]?.trim() ?? "");
    rows.push(...(sameHeader ? lines.slice(2) : ["", ...lines]));
  }
  // Rows repeated across chunk boundaries (the same item seen twice) appear once.
  const seen = new Set<string>();
  return rows
    .filter((row, i) => {
      if (i < 2 || !row.trim().startsWith("|")) return true;
      if (seen.has(row.trim())) return false;
      seen.add(row.trim());
      return true;
    })
    .join("\n");
}
